CREATE TABLE "stock" (
	"id" uuid PRIMARY KEY NOT NULL,
	"sku" text NOT NULL,
	"available" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
