/** This service's own error codes; @rampart/security turns them into problem+json with the same code. */
export class ItemNotFoundError extends Error {
  readonly code = 'RAMPART_ORDERS_ITEM_NOT_FOUND';
  readonly statusCode = 404;
  constructor(id: string) {
    super(`item ${id} does not exist`);
    this.name = 'ItemNotFoundError';
  }
}
