-- Tenant isolation at the doors other than CurveZMQ (issue #15, part A).
--
-- 1. OTLP ingest tokens live in api_keys beside the reporter's API keys, with the same
--    format, hashing, audit and revocation (fleetcost key create --scope otlp). scope
--    keeps the two apart: a reporter key never opens fleetcost-otlp and an OTLP token
--    never reads the API. A NULL tenant_id is an operator token (any tenant, named by
--    the record's tenant.id attribute).
ALTER TABLE api_keys
    ADD COLUMN scope text NOT NULL DEFAULT 'api'
        CONSTRAINT api_keys_scope CHECK (scope IN ('api', 'otlp'));

-- The lookup now says which door a key opens; the result type changes, so it is
-- dropped and created again with the same grants.
DROP FUNCTION fc_api_key_lookup(text);
CREATE FUNCTION fc_api_key_lookup(p_key_id text)
RETURNS TABLE (tenant_id text, key_hash text, revoked boolean, scope text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT k.tenant_id, k.key_hash, k.revoked_at IS NOT NULL AND k.revoked_at <= now(), k.scope
      FROM public.api_keys k
     WHERE k.key_id = p_key_id
$$;
REVOKE EXECUTE ON FUNCTION fc_api_key_lookup(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fc_api_key_lookup(text) TO fleetcost_reader;

-- fleetcost-otlp loads every live OTLP token at once and refreshes the set every few
-- seconds, so the number of Postgres queries does not depend on how many requests (or
-- guessed tokens) arrive. Hashes only; the secrets are never stored.
CREATE FUNCTION fc_otlp_tokens()
RETURNS TABLE (key_id text, tenant_id text, key_hash text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT k.key_id, k.tenant_id, k.key_hash
      FROM public.api_keys k
     WHERE k.scope = 'otlp' AND (k.revoked_at IS NULL OR k.revoked_at > now())
     ORDER BY k.key_id
$$;
REVOKE EXECUTE ON FUNCTION fc_otlp_tokens() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fc_otlp_tokens() TO fleetcost_reader;

-- 2. fleetcost github fetches an issue only when its repository is on the tenant's
--    allow-list: an owner ("acme", every repository of it) or an owner/name. GitHub
--    names are case-insensitive; they are kept lower-case and compared lower-case.
CREATE TABLE github_repos (
    tenant_id  text NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    pattern    text NOT NULL
               CONSTRAINT github_repos_pattern CHECK (pattern ~ '^[a-z0-9_.-]+(/[a-z0-9_.-]+)?$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, pattern)
);

-- An optional GitHub token per tenant, used instead of the worker's --token for that
-- tenant's issues. Operator data: no reader grant, never printed by any command.
CREATE TABLE github_tokens (
    tenant_id text PRIMARY KEY REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    token     text NOT NULL CONSTRAINT github_tokens_size CHECK (length(token) BETWEEN 1 AND 400),
    set_at    timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON github_repos, github_tokens FROM PUBLIC;
