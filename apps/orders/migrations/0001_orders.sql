CREATE TABLE "orders" (
	"id" uuid PRIMARY KEY NOT NULL,
	"customer_email" text NOT NULL,
	"sku" text NOT NULL,
	"quantity" integer NOT NULL,
	"reservation_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
