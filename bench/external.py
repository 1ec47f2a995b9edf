"""The baseline the extension replaces: a client that reads each block's events back over TCP
and applies the same state changes with one statement per change (and per LP), the way the
old Go service did. Same tables, same formulas; no journal, no bookkeeping."""



def f(x):
    return int(x, 16)


def u(data, i):
    return f(data[i]) + (f(data[i + 1]) << 128)


class External:
    def __init__(self, conn):
        self.conn = conn
        self.statements = 0

    def x(self, sql, params=()):
        self.statements += 1
        return self.conn.execute(sql, params)

    def history(self, vault, lp, block):
        self.x('''INSERT INTO "Vault_Historic" SELECT address, latest_block, unlocked_balance, locked_balance, stashed_balance
                  FROM "VaultStates" WHERE address = %s ON CONFLICT (address, block_number) DO UPDATE
                  SET unlocked_balance = EXCLUDED.unlocked_balance, locked_balance = EXCLUDED.locked_balance,
                      stashed_balance = EXCLUDED.stashed_balance''', (vault,))
        if lp is not None:
            self.x('''INSERT INTO "Liquidity_Providers_Historic" SELECT address, vault_address, latest_block, unlocked_balance,
                      locked_balance, stashed_balance FROM "Liquidity_Providers" WHERE address = %s AND vault_address = %s
                      ON CONFLICT (address, vault_address, block_number) DO UPDATE
                      SET unlocked_balance = EXCLUDED.unlocked_balance, locked_balance = EXCLUDED.locked_balance,
                          stashed_balance = EXCLUDED.stashed_balance''', (lp, vault))

    def lp_rows(self, vault):
        return self.x('SELECT address, unlocked_balance, locked_balance FROM "Liquidity_Providers" WHERE vault_address = %s',
                      (vault,)).fetchall()

    def block(self, number, timestamp):
        events = self.x('''SELECT vault_address, event_name, event_keys, event_data FROM events
                           WHERE block_number = %s ORDER BY vault_address, event_nonce''', (number,)).fetchall()
        with self.conn.transaction():
            for vault, name, keys, data in events:
                getattr(self, name)(vault, keys, data, number, timestamp)

    def ContractDeployed(self, vault, keys, data, b, ts):
        self.x('''INSERT INTO "VaultStates" (address, latest_block, deployment_date, alpha, strike_level) VALUES (%s, %s, %s, %s, %s)
                  ON CONFLICT (address) DO UPDATE SET latest_block = EXCLUDED.latest_block,
                  deployment_date = EXCLUDED.deployment_date, alpha = EXCLUDED.alpha, strike_level = EXCLUDED.strike_level''',
               (vault, b, ts, f(data[8]), f(data[9])))

    def OptionRoundDeployed(self, vault, keys, data, b, ts):
        self.x('''INSERT INTO "Option_Rounds" (address, vault_address, round_id, state, start_date, end_date, settlement_date,
                  deployment_date, strike_price, cap_level, reserve_price) VALUES (%s, %s, %s, 'Open', %s, %s, %s, %s, %s, %s, %s)''',
               (data[1], vault, f(data[0]), f(data[2]), f(data[3]), f(data[4]), ts, u(data, 5), f(data[7]), u(data, 8)))
        self.x('''INSERT INTO "VaultStates" (address, current_round, current_round_address, latest_block) VALUES (%s, %s, %s, %s)
                  ON CONFLICT (address) DO UPDATE SET current_round = EXCLUDED.current_round,
                  current_round_address = EXCLUDED.current_round_address, latest_block = EXCLUDED.latest_block''',
               (vault, f(data[0]), data[1], b))
        self.history(vault, None, b)

    def Deposit(self, vault, keys, data, b, ts):
        self.x('''INSERT INTO "VaultStates" (address, unlocked_balance, latest_block) VALUES (%s, %s, %s)
                  ON CONFLICT (address) DO UPDATE SET unlocked_balance = EXCLUDED.unlocked_balance, latest_block = EXCLUDED.latest_block''',
               (vault, u(data, 4), b))
        self.x('''INSERT INTO "Liquidity_Providers" (address, vault_address, unlocked_balance, latest_block) VALUES (%s, %s, %s, %s)
                  ON CONFLICT (address, vault_address) DO UPDATE SET unlocked_balance = EXCLUDED.unlocked_balance,
                  latest_block = EXCLUDED.latest_block''', (keys[1], vault, u(data, 2), b))
        self.history(vault, keys[1], b)

    def WithdrawalQueued(self, vault, keys, data, b, ts):
        rnd = self.x('UPDATE "Option_Rounds" SET queued_liquidity = %s WHERE vault_address = %s AND round_id = %s RETURNING address',
                     (u(data, 6), vault, f(data[1]))).fetchone()[0]
        self.x('''INSERT INTO "Queued_Liquidity" VALUES (%s, %s, %s, %s) ON CONFLICT (address, round_address)
                  DO UPDATE SET bps = EXCLUDED.bps, queued_liquidity = EXCLUDED.queued_liquidity''',
               (keys[1], rnd, f(data[0]), u(data, 4)))

    def AuctionStarted(self, vault, keys, data, b, ts):
        rnd = data[-1]
        self.x('''UPDATE "Option_Rounds" SET state = 'Auctioning', starting_liquidity = %s, available_options = %s WHERE address = %s''',
               (u(data, 0), u(data, 2), rnd))
        self.x('UPDATE "VaultStates" SET locked_balance = %s, unlocked_balance = 0, latest_block = %s WHERE address = %s',
               (u(data, 0), b, vault))
        self.history(vault, None, b)
        for lp, unlocked, locked in self.lp_rows(vault):
            self.x('''UPDATE "Liquidity_Providers" SET locked_balance = unlocked_balance, unlocked_balance = 0, latest_block = %s
                      WHERE address = %s AND vault_address = %s''', (b, lp, vault))
            self.x('INSERT INTO evp.lp_round_liquidity VALUES (%s, %s, %s)', (rnd, lp, unlocked))
            self.history(vault, lp, b)

    def BidPlaced(self, vault, keys, data, b, ts):
        rnd = data[-1]
        self.x('INSERT INTO "Bids" VALUES (%s, %s, %s, %s, %s, %s)', (rnd, hex(f(data[0])), keys[1], f(data[5]) - 1, u(data, 1), u(data, 3)))
        self.x('INSERT INTO "Option_Buyers" (address, round_address) VALUES (%s, %s) ON CONFLICT DO NOTHING', (keys[1], rnd))

    def AuctionEnded(self, vault, keys, data, b, ts):
        rnd, sold, price, unsold = data[-1], u(data, 0), u(data, 2), u(data, 4)
        s_total = self.x('''UPDATE "Option_Rounds" SET state = 'Running', clearing_price = %s, sold_options = %s, unsold_liquidity = %s,
                            premiums = %s WHERE address = %s RETURNING starting_liquidity''',
                         (price, sold, unsold, price * sold, rnd)).fetchone()[0]
        premiums = price * sold
        self.x('''UPDATE "VaultStates" SET unlocked_balance = unlocked_balance + %s, locked_balance = locked_balance - %s,
                  latest_block = %s WHERE address = %s''', (premiums + unsold, unsold, b, vault))
        self.history(vault, None, b)
        bids = self.x('SELECT buyer_address, tree_nonce, amount, price FROM "Bids" WHERE round_address = %s', (rnd,)).fetchall()
        left, outcome = sold, {}
        for buyer, _, amount, bid_price in sorted(bids, key=lambda x: (-x[3], x[1])):
            m, r = outcome.get(buyer, (0, 0))
            if left == 0:
                r += amount * bid_price
            elif amount < left:
                m, r, left = m + amount, r + amount * (bid_price - price), left - amount
            else:
                m, r, left = m + left, r + (amount - left) * bid_price, 0
            outcome[buyer] = (m, r)
        for buyer, (m, r) in outcome.items():
            self.x('UPDATE "Option_Buyers" SET mintable_options = %s, refundable_amount = %s WHERE address = %s AND round_address = %s',
                   (m, r, buyer, rnd))
        for lp, s in self.x('SELECT lp_address, starting_liquidity FROM evp.lp_round_liquidity WHERE round_address = %s', (rnd,)).fetchall():
            self.x('''UPDATE "Liquidity_Providers" SET unlocked_balance = unlocked_balance + %s, locked_balance = %s, latest_block = %s
                      WHERE address = %s AND vault_address = %s''',
                   ((premiums + unsold) * s // s_total, (s_total - unsold) * s // s_total, b, lp, vault))
            self.history(vault, lp, b)

    def OptionsMinted(self, vault, keys, data, b, ts):
        self.x('UPDATE "Option_Buyers" SET has_minted = true, mintable_options = 0 WHERE address = %s AND round_address = %s',
               (keys[1], data[-1]))

    def UnusedBidsRefunded(self, vault, keys, data, b, ts):
        self.x('UPDATE "Option_Buyers" SET has_refunded = true, refundable_amount = 0 WHERE address = %s AND round_address = %s',
               (keys[1], data[-1]))

    def OptionRoundSettled(self, vault, keys, data, b, ts):
        rnd, payout = data[-1], u(data, 2)
        s_total, rem, q_total = self.x('''UPDATE "Option_Rounds" SET state = 'Settled', settlement_price = %s, payout_per_option = %s,
                  remaining_liquidity = starting_liquidity - unsold_liquidity - %s * sold_options WHERE address = %s
                  RETURNING starting_liquidity, remaining_liquidity, coalesce(queued_liquidity, 0)''',
                                       (u(data, 0), payout, payout, rnd)).fetchone()
        stash = rem * q_total // s_total if s_total else 0
        self.x('''UPDATE "VaultStates" SET locked_balance = 0, stashed_balance = stashed_balance + %s,
                  unlocked_balance = unlocked_balance + %s, latest_block = %s WHERE address = %s''', (stash, rem - stash, b, vault))
        self.history(vault, None, b)
        rows = self.x('''SELECT x.lp_address, x.starting_liquidity, coalesce(q.queued_liquidity, 0) FROM evp.lp_round_liquidity x
                         LEFT JOIN "Queued_Liquidity" q ON q.round_address = x.round_address AND q.address = x.lp_address
                         WHERE x.round_address = %s''', (rnd,)).fetchall()
        for lp, s, q in rows:
            self.x('''UPDATE "Liquidity_Providers" SET locked_balance = 0, stashed_balance = stashed_balance + %s,
                      unlocked_balance = unlocked_balance + %s, latest_block = %s WHERE address = %s AND vault_address = %s''',
                   (rem * q // s_total, rem * s // s_total - rem * q // s_total, b, lp, vault))
            self.history(vault, lp, b)
