import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';

/**
 * Validates every schema with TypeBox's compiler and types routes from their TypeBox schemas. Bodies are
 * never coerced: a string where an object belongs fails validation instead of slipping through.
 *
 * @example
 * const app = useTypeBox(Fastify());
 * app.post('/items', { schema: { body: Type.Object({ name: Type.String() }) }, config: { auth: 'public' } },
 *   async (request) => request.body.name);
 */
export function useTypeBox<T extends FastifyInstance>(app: T) {
  return app.setValidatorCompiler(TypeBoxValidatorCompiler).withTypeProvider<TypeBoxTypeProvider>();
}

export type { TypeBoxTypeProvider };
