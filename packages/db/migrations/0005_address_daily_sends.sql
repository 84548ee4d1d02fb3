CREATE TABLE "address_daily_sends" (
	"address_key" text NOT NULL,
	"day" date NOT NULL,
	"sent" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "address_daily_sends_address_key_day_pk" PRIMARY KEY("address_key","day")
);
