-- +goose Up

-- With VERIFY_WEBHOOKS a reconciler asks NubeFacT about the ready aparcadas before the
-- transaction that applies them opens. It claims them first (LeerListas), so that another
-- reconciler verifies others meanwhile instead of the same ones; a claim that is never released
-- (its reconciler died) expires.
ALTER TABLE aparcadas ADD COLUMN claimed_until timestamptz;
COMMENT ON COLUMN aparcadas.claimed_until IS
  'the claim of the reconciler verifying this aparcada with NubeFacT before applying it (NULL: free)';

-- +goose Down
ALTER TABLE aparcadas DROP COLUMN claimed_until;
