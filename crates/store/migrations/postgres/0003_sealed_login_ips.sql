-- Client addresses in the login history are personal data: sealed from here on, under the
-- user's subject key (or the tenant's own subject key for attempts on no known account).
ALTER TABLE login_history ADD COLUMN ip_sealed BYTEA;
ALTER TABLE login_history DROP COLUMN ip;
