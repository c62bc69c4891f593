// Every table this service owns, for drizzle-kit (drizzle.config.ts) and for typed queries.
export { items } from './items/schema.ts';
export { orders } from './orders/schema.ts';
