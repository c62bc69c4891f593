/** This service's own error codes; @rampart/security turns them into problem+json with the same code. */
export class ItemNotFoundError extends Error {
  readonly code = 'RAMPART_ORDERS_ITEM_NOT_FOUND';
  readonly statusCode = 404;
  constructor(id: string) {
    super(`item ${id} does not exist`);
    this.name = 'ItemNotFoundError';
  }
}

/** Inventory has too little of the SKU left for the order. */
export class OutOfStockError extends Error {
  readonly code = 'RAMPART_ORDERS_OUT_OF_STOCK';
  readonly statusCode = 409;
  constructor(sku: string) {
    super(`not enough stock of ${sku}`);
    this.name = 'OutOfStockError';
  }
}

/** Inventory does not know the SKU the order names. */
export class UnknownSkuError extends Error {
  readonly code = 'RAMPART_ORDERS_SKU_UNKNOWN';
  readonly statusCode = 422;
  constructor(sku: string) {
    super(`inventory does not know ${sku}`);
    this.name = 'UnknownSkuError';
  }
}

/** No row of orders has this id; answered as 404 problem+json with this code. */
export class OrdersNotFoundError extends Error {
  readonly code = 'RAMPART_ORDERS_ORDERS_NOT_FOUND';
  readonly statusCode = 404;
  constructor(id: string) {
    super(`orders ${id} does not exist`);
    this.name = 'OrdersNotFoundError';
  }
}

/** INVENTORY_API_KEY is unset, so orders cannot hold stock: 503 until it is configured. */
export class InventoryUnconfiguredError extends Error {
  readonly code = 'RAMPART_ORDERS_INVENTORY_UNCONFIGURED';
  readonly statusCode = 503;
  constructor() {
    super('INVENTORY_API_KEY is unset: orders cannot reserve stock');
    this.name = 'InventoryUnconfiguredError';
  }
}
