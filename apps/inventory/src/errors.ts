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

/** Another stock row already holds this SKU (one row per SKU). */
export class SkuTakenError extends Error {
  readonly code = 'RAMPART_INVENTORY_SKU_TAKEN';
  readonly statusCode = 409;
  constructor(sku: string, options?: { cause?: unknown }) {
    super(`stock of ${sku} already exists`, options);
    this.name = 'SkuTakenError';
  }
}

/** No stock row has this SKU, so nothing can be reserved of it. */
export class SkuUnknownError extends Error {
  readonly code = 'RAMPART_INVENTORY_SKU_UNKNOWN';
  readonly statusCode = 404;
  constructor(sku: string) {
    super(`no stock of ${sku} exists`);
    this.name = 'SkuUnknownError';
  }
}

/** Fewer are available than the reservation asks for; nothing was taken. */
export class OutOfStockError extends Error {
  readonly code = 'RAMPART_INVENTORY_OUT_OF_STOCK';
  readonly statusCode = 409;
  constructor(sku: string) {
    super(`not enough stock of ${sku}`);
    this.name = 'OutOfStockError';
  }
}

/** The order already holds a reservation with another SKU or quantity. */
export class ReservationConflictError extends Error {
  readonly code = 'RAMPART_INVENTORY_RESERVATION_CONFLICT';
  readonly statusCode = 409;
  constructor(orderId: string) {
    super(`order ${orderId} already holds a different reservation`);
    this.name = 'ReservationConflictError';
  }
}
