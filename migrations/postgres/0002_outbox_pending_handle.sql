-- A push a channel accepted for asynchronous processing (an Amazon JSON_LISTINGS_FEED) stays
-- in flight ('sending') with the connector's handle, until polling the handle settles it.
ALTER TABLE outbox ADD COLUMN pending_handle TEXT;
