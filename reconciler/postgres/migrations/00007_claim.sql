-- +goose Up

-- One name per idea (README, Code map): an outbox row reserved for one relay until a time is a
-- claim, in the code and here alike. Renaming a column keeps its data and its indexes.
ALTER TABLE outbox RENAME COLUMN reclamado_hasta TO claimed_until;
COMMENT ON COLUMN outbox.claimed_until IS
  'the claim: until when one relay holds this event (NULL: free); a sweep takes free rows and expired claims';

-- +goose Down
COMMENT ON COLUMN outbox.claimed_until IS NULL;
ALTER TABLE outbox RENAME COLUMN claimed_until TO reclamado_hasta;
