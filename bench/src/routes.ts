import Type from 'typebox';

// The two routes every HTTP server in the bench serves, with the same schemas and the same work, so the
// only difference between servers is the stack around them. The handlers do no I/O: the bench measures
// what the stack costs per request, not a database.

export const GET_PATH = '/bench/items/:id';
export const POST_PATH = '/bench/items';

/** What the load generator sends. */
export const GET_URL = '/bench/items/42';
export const POST_BODY = JSON.stringify({ name: 'Ada Lovelace', tags: ['math', 'engines'] });

export const ItemParams = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,12}$' }) });
export const ItemBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    tags: Type.Optional(Type.Array(Type.String({ maxLength: 40 }), { maxItems: 10 })),
  },
  { additionalProperties: false },
);
export const Item = Type.Object({
  id: Type.String(),
  name: Type.String(),
  tags: Type.Array(Type.String()),
});

export const getItem = (id: string) => ({ id, name: 'Ada Lovelace', tags: ['math'] });
export const createItem = (body: { name: string; tags?: string[] | undefined }) => ({
  id: '43',
  name: body.name,
  tags: body.tags ?? [],
});

/** The same schemas as plain JSON Schema (no TypeBox markers) for servers that validate with Ajv. */
export function plainSchema<T>(schema: T): T {
  return JSON.parse(JSON.stringify(schema)) as T;
}

/** Tells the bench where the server listens (and, for Rampart, the API key it created). */
export function announce(message: { port: number; key?: string }): void {
  if (process.send) {
    process.send(message);
    // The bench went away (killed, crashed): do not outlive it.
    process.once('disconnect', () => process.exit(0));
  } else process.stdout.write(`listening ${message.port}\n`);
}
