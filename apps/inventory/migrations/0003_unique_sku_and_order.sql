ALTER TABLE "reservations" ADD CONSTRAINT "reservations_order_id_unique" UNIQUE("order_id");--> statement-breakpoint
ALTER TABLE "stock" ADD CONSTRAINT "stock_sku_unique" UNIQUE("sku");--> statement-breakpoint
ALTER TABLE "stock" ADD CONSTRAINT "stock_available_not_negative" CHECK ("stock"."available" >= 0);