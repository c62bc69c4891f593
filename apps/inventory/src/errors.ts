/** This service's own error codes; @rampart/security turns them into problem+json with the same code. */
export class ItemNotFoundError extends Error {
  readonly code = 'RAMPART_INVENTORY_ITEM_NOT_FOUND';
  readonly statusCode = 404;
  constructor(id: string) {
    super(`item ${id} does not exist`);
    this.name = 'ItemNotFoundError';
  }
}

/** No row of stock has this id; answered as 404 problem+json with this code. */
export class StockNotFoundError extends Error {
  readonly code = 'RAMPART_INVENTORY_STOCK_NOT_FOUND';
  readonly statusCode = 404;
  constructor(id: string) {
    super(`stock ${id} does not exist`);
    this.name = 'StockNotFoundError';
  }
}

/** No row of reservations has this id; answered as 404 problem+json with this code. */
export class ReservationsNotFoundError extends Error {
  readonly code = 'RAMPART_INVENTORY_RESERVATIONS_NOT_FOUND';
  readonly statusCode = 404;
  constructor(id: string) {
    super(`reservations ${id} does not exist`);
    this.name = 'ReservationsNotFoundError';
  }
}
