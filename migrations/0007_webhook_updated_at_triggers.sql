-- The webhook tables of 0006 have updated_at: the same trigger as every other such table (see 0001).
CREATE TRIGGER webhook_subscription_set_updated_at BEFORE UPDATE ON webhook_subscription FOR EACH ROW EXECUTE FUNCTION set_updated_at();
--> statement-breakpoint
CREATE TRIGGER webhook_delivery_set_updated_at BEFORE UPDATE ON webhook_delivery FOR EACH ROW EXECUTE FUNCTION set_updated_at();
