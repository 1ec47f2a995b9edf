"""The outputs alone: what writing the rows the extension writes costs, with none of its logic.

A load with the extension in sync mode leaves, per block, every row it wrote in the change feed
(the state rows and history rows, as they were at the end of the block), plus its ledger entry,
each vault's last nonce and the LPs' starting liquidities. `payloads` reads them back, one JSON
document per block. A database with the extension installed and its triggers off
(session_replication_role = replica) then gets the same load, and a trigger on the block row
of its own, `bench_outputs()`, writes the block's rows as set-based as SQL allows: one statement
per table the block wrote (the state rows with their journal images, as the extension journals
them), the history rows, the feed rows, the notifications, the ledger entry. No event is read,
decoded or computed with. So its time over the floor is about what any implementation of
SPEC's outputs and of the journal pays to write them with SQL in the block's transaction: a
little more for reading its rows from JSON, a little less for the feed's rows coming ready-made.
"""

# The tables a block writes with a journal image, in the order the extension writes them.
JOURNALED = ["VaultStates", "Liquidity_Providers", "Option_Rounds", "Queued_Liquidity", "Option_Buyers", "Bids"]
HISTORY = ["Vault_Historic", "Liquidity_Providers_Historic"]
CHANNELS = {"VaultStates": "vault_update", "Liquidity_Providers": "lp_update", "Option_Rounds": "or_update",
            "Option_Buyers": "ob_update", "Bids": "bids_update"}

# Each block of the load: its number, hash and payload (the rows of each table it wrote, keyed by
# table; its feed rows; its LPs' starting liquidities; its vaults' last nonces; its events).
PAYLOADS = """
SELECT b.block_number::text, evp.normalize_felt(b.block_hash) AS hash,
       jsonb_strip_nulls(coalesce((SELECT jsonb_object_agg(t.table_name, t.rows)
                   FROM (SELECT c.table_name, jsonb_agg(c."row" ORDER BY c.position) AS rows FROM evp.changes c
                          WHERE c.block_number = b.block_number GROUP BY c.table_name) t), '{}')
       || jsonb_build_object(
           'changes', (SELECT jsonb_agg(jsonb_build_object('t', c.table_name, 'op', c.op, 'row', c."row") ORDER BY c.position)
                         FROM evp.changes c WHERE c.block_number = b.block_number),
           'lp_round_liquidity', (SELECT jsonb_agg(to_jsonb(l)) FROM evp.journal_lp_round_liquidity j
                                    JOIN evp.lp_round_liquidity l USING (round_address, lp_address)
                                   WHERE j.at_block = b.block_number),
           'vault_progress', (SELECT jsonb_agg(jsonb_build_object('vault_address', p.v, 'last_nonce', p.n))
                                FROM (SELECT evp.normalize_felt(e.vault_address) AS v, max(e.event_nonce) AS n
                                        FROM events e WHERE e.block_number = b.block_number GROUP BY 1) p),
           'events', (SELECT count(*) FROM events e WHERE e.block_number = b.block_number)))::text AS payload
  FROM starknet_blocks b ORDER BY b.block_number"""


# What a load wrote, to compare the outputs alone with sync: the feed's rows, and a digest of
# the eight output tables.
WRITTEN = """
SELECT (SELECT count(*) FROM evp.changes),
       (SELECT md5(string_agg(r, '|' ORDER BY r))
          FROM (SELECT to_jsonb(t)::text AS r FROM public."VaultStates" t
                UNION ALL SELECT to_jsonb(t)::text FROM public."Liquidity_Providers" t
                UNION ALL SELECT to_jsonb(t)::text FROM public."Option_Rounds" t
                UNION ALL SELECT to_jsonb(t)::text FROM public."Queued_Liquidity" t
                UNION ALL SELECT to_jsonb(t)::text FROM public."Option_Buyers" t
                UNION ALL SELECT to_jsonb(t)::text FROM public."Bids" t
                UNION ALL SELECT to_jsonb(t)::text FROM public."Vault_Historic" t
                UNION ALL SELECT to_jsonb(t)::text FROM public."Liquidity_Providers_Historic" t) s)"""


def payloads(conn):
    """Each block's (number, hash, payload as JSON text), in block order, from a database a sync
    load wrote with a journal that kept every block (evp.journal_horizon above the chain's)."""
    assert not conn.execute("SELECT FROM evp.journal_pruned").fetchall(), "the journal was pruned"
    return conn.execute(PAYLOADS).fetchall()


def _columns(conn, table):
    return [r[0] for r in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum", (table,)).fetchall()]


def _keys(conn, table):
    return conn.execute("SELECT keys FROM evp.journaled_tables WHERE tbl = %s", (table,)).fetchone()[0]


# The parts of the outputs a run can leave out, to learn what each costs: the journal images,
# the history rows, the change feed's rows, the notifications.
PARTS = ("journal", "history", "feed", "notifications")


def _journaled(conn, schema, name, journal):
    """The statement that writes table `name`'s rows of the block, with their journal images if
    `journal`."""
    table = f'{schema}."{name}"' if schema == "public" else f"{schema}.{name}"
    keys = _keys(conn, table)
    key_list = ", ".join(keys)
    lookup = " AND ".join(f"o.{k} = n.{k}" for k in keys)
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in _columns(conn, table) if c not in keys)
    ctes = [f"n AS (SELECT * FROM jsonb_populate_recordset(NULL::{table}, p->'{name}'))"]
    if journal:
        ctes.append(f"""j AS (INSERT INTO evp."journal_{name}" (at_block, {key_list}, old)
              SELECT blk, {", ".join(f"n.{k}" for k in keys)}, (SELECT o FROM {table} o WHERE {lookup}) FROM n)""")
    ctes = ",\n        ".join(ctes)
    return f"""
    IF p ? '{name}' THEN
        WITH {ctes}
        INSERT INTO {table} SELECT * FROM n ON CONFLICT ({key_list}) DO UPDATE SET {sets};
    END IF;"""


def function(conn, without=()):
    """CREATE FUNCTION bench_outputs(): the trigger that writes the payload (see `payloads`) of
    the block whose row is inserted, but for the `PARTS` named in `without`."""
    journal = "journal" not in without
    body = "".join(_journaled(conn, "public", t, journal) for t in JOURNALED)
    body += "".join(_journaled(conn, "evp", t, journal) for t in ("lp_round_liquidity", "vault_progress"))
    if "history" not in without:
        body += "".join(f"""
    IF p ? '{t}' THEN
        INSERT INTO public."{t}" SELECT * FROM jsonb_populate_recordset(NULL::public."{t}", p->'{t}');
    END IF;""" for t in HISTORY)
    if "feed" not in without:
        body += """
    IF p ? 'changes' THEN
        INSERT INTO evp.changes (position, block_number, block_hash, table_name, op, "row", reverted)
        SELECT nextval('evp.changes_position'), blk, hash, x->>'t', x->>'op', x->'row', false
          FROM jsonb_array_elements(p->'changes') x;
    END IF;"""
    if "notifications" not in without:
        channel = " ".join(f"WHEN '{t}' THEN '{c}'" for t, c in CHANNELS.items())
        body += f"""
    IF p ? 'changes' THEN
        PERFORM pg_notify(CASE x->>'t' {channel} END,
                          '{{"operation" : "' || (x->>'op') || '", "payload" : ' || (x->'row')::text || '}}')
           FROM jsonb_array_elements(p->'changes') x WHERE x->>'t' IN ({", ".join(f"'{t}'" for t in CHANNELS)});
    END IF;"""
    return f"""CREATE FUNCTION bench_outputs() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE
    blk numeric := NEW.block_number;
    hash text;
    p jsonb;
BEGIN
    SELECT x.hash, x.payload INTO hash, p FROM bench_payloads x WHERE x.block_number = blk;{body}
    INSERT INTO evp.blocks (block_number, block_hash, state, has_row, has_events, events_applied)
    VALUES (blk, hash, 'applied', true, (p->>'events')::int > 0, (p->>'events')::int);
    RETURN NULL;
END $f$"""


def prepare(conn, payloads, without=()):
    """The payloads, stored beforehand (uncompressed, so that reading one costs little), and the
    trigger that writes a block's when its row is inserted, as the extension applies it (see
    `function`)."""
    conn.execute("CREATE TABLE bench_payloads (block_number numeric PRIMARY KEY, hash text, payload jsonb)")
    conn.execute("ALTER TABLE bench_payloads ALTER payload SET STORAGE EXTERNAL")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO bench_payloads VALUES (%s, %s, %s::jsonb)", payloads)
    conn.execute("VACUUM ANALYZE bench_payloads")
    conn.execute(function(conn, without))
    conn.execute("CREATE TRIGGER bench_outputs AFTER INSERT ON starknet_blocks FOR EACH ROW EXECUTE FUNCTION bench_outputs()")
    # Fires under session_replication_role = replica, which keeps the extension's triggers off.
    conn.execute("ALTER TABLE starknet_blocks ENABLE ALWAYS TRIGGER bench_outputs")
