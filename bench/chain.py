"""Synthetic Pitch Lake chains in the indexer's format, for the benchmarks.

Each vault lives through `rounds` rounds: every LP deposits, the auction starts, a tenth of
the LPs queue half their liquidity, bidders bid, the auction ends, some buyers mint and take
refunds, the round settles and the next one is deployed. Round events use the forwarded
layout (emitted by the vault). The "now" balances the events carry follow a simple model
that keeps every transition valid (queued <= starting liquidity, payout within what is left).
"""

import random

SELECTOR = {
    "Deposit": "0x9149d2123147c5f43d258257fef0b7b969db78269369ebcf5ebb9eef8592f2",
    "WithdrawalQueued": "0x36a0768f9b1cc8742e7726e951a13aec0f1ee9461c6be53a80378c49299c5fb",
    "OptionRoundDeployed": "0xd659a517d721168cbed4f7cb1abb424037bf0f34a8a22948c502429045b312",
    "AuctionStarted": "0x26a7d477600536be46a48d46dcdebf5d8c5703c5e16f6bfad368996adea83f3",
    "AuctionEnded": "0x369d2b1c46f2b24795aafc23c97301b1f924966a1b4fdaad2473cf4d9df23ca",
    "OptionRoundSettled": "0x9fadeca7092d377c750978a256f85278e6f70781e5c879baa766ca6a4db079",
    "BidPlaced": "0x284319dd93fe6054ee43527bfdc6c222e6b0cafdcbd3ef60c9190c70bb1d638",
    "OptionsMinted": "0x1f66c9480f0238b7c61817f7e724aa3f313dac819d40d5b48a968ef27847f54",
    "UnusedBidsRefunded": "0x1678c5f70bd63f9239387cb96dd9fa4d6a9817a3089a0b97513f63120f92792",
    "ContractDeployed": "0x26b160f10156dea0639bec90696772c640b9706a47f5b8c52ea1abe5858b34d",
}


def felt(v):
    return hex(v)


def u256(v):
    return [hex(v % (1 << 128)), hex(v >> 128)]


class Event:
    __slots__ = ("vault", "nonce", "name", "keys", "data")

    def __init__(self, vault, nonce, name, keys, data):
        self.vault, self.nonce, self.name, self.keys, self.data = vault, nonce, name, keys, data


class Vault:
    def __init__(self, index, lps, rng):
        self.address = hex(0xA000000 + index)
        self.lps = [hex(0x1000000 * (index + 1) + i) for i in range(lps)]
        self.nonce = 0
        self.rng = rng

    def event(self, name, keys, data):
        self.nonce += 1
        return Event(self.address, self.nonce, name, [SELECTOR[name]] + keys, data)

    def round_address(self, r):
        return hex((int(self.address, 16) << 16) + r)


def round_deployed(v, r):
    return v.event("OptionRoundDeployed", [], [felt(r), v.round_address(r), felt(1700000000 + r), felt(1700000600 + r),
                                               felt(1700000900 + r)] + u256(0) + [felt(0)] + u256(0))


def forwarded(v, r, name, keys, data):
    return v.event(name, keys + [felt(r)], data + [v.round_address(r)])


def vault_life(v, rounds, bidders, bids_per_bidder, rng):
    """The events of one vault, as a list of groups; each group goes into one block."""
    groups = [[round_deployed(v, 1),
               v.event("ContractDeployed", [], [v.address, "0xde", "0x1", "0xc1a55", "0xa", "0xf0551", "0xe7", "0xc1a55",
                                                "0x9c4", "0x14d", "0x12c", "0x258", "0x384", "0x7", "0x5", "0x5a17"])]]
    balance = {lp: 0 for lp in v.lps}
    buyers = [hex(0xB0000000 + i) for i in range(bidders)]
    for r in range(1, rounds + 1):
        deposits = []
        for lp in v.lps:
            amount = rng.randrange(10**17, 10**19)
            balance[lp] += amount
            deposits.append(v.event("Deposit", [lp], u256(amount) + u256(balance[lp]) + u256(sum(balance.values()))))
        groups += [deposits[i:i + 50] for i in range(0, len(deposits), 50)]
        s_total = sum(balance.values())
        available = 10_000
        groups.append([forwarded(v, r, "AuctionStarted", [], u256(s_total) + u256(available))])
        queued, queue = 0, []
        for lp in v.lps[::10]:
            q = balance[lp] * 5000 // 10000
            queued += q
            queue.append(v.event("WithdrawalQueued", [lp], [felt(5000), felt(r)] + u256(0) + u256(q) + u256(queued)))
        bids, placed, tree = [], [], 0
        for b in buyers:
            for _ in range(bids_per_bidder):
                amount, price = rng.randrange(1, 2000), rng.randrange(1, 50) * 10**9
                bids.append((price, tree, amount, b))
                tree += 1
                placed.append(forwarded(v, r, "BidPlaced", [b], [hex(rng.getrandbits(120))] + u256(amount) + u256(price)
                                        + [felt(tree)]))
        groups += [g for g in (queue, placed[:len(placed) // 2], placed[len(placed) // 2:]) if g]
        # The auction's outcome as the contract computes it: walk by price desc, tree nonce asc.
        sold = min(available, sum(b[2] for b in bids))
        left, clearing_price, clearing_nonce = sold, 0, 0
        for price, nonce, amount, _ in sorted(bids, key=lambda b: (-b[0], b[1])):
            if left == 0:
                break
            if amount >= left:
                clearing_price, clearing_nonce, left = price, nonce, 0
            else:
                left -= amount
        unsold = s_total * (available - sold) // available
        groups.append([forwarded(v, r, "AuctionEnded", [], u256(sold) + u256(clearing_price) + u256(unsold)
                                 + [felt(clearing_nonce)])])
        groups.append([forwarded(v, r, "OptionsMinted", [b], u256(1)) for b in buyers[:2]]
                      + [forwarded(v, r, "UnusedBidsRefunded", [b], u256(1)) for b in buyers[2:4]])
        payout = (s_total - unsold) // (2 * sold) if sold else 0
        groups.append([forwarded(v, r, "OptionRoundSettled", [], u256(1) + u256(payout)), round_deployed(v, r + 1)])
        # Settlement returns liquidity to the LPs: the model starts each round from deposits only,
        # which keeps the queued amounts within what each LP has.
    return groups


def chain(vaults, lps, rounds, bidders, bids_per_bidder, seed=1, first_block=1000):
    """Blocks as (number, hash, parent_hash, timestamp, events); vaults interleave."""
    rng = random.Random(seed)
    lives = [vault_life(Vault(i, lps, rng), rounds, bidders, bids_per_bidder, rng) for i in range(vaults)]
    blocks, number = [], first_block
    for step in range(max(len(l) for l in lives)):
        events = [e for l in lives if step < len(l) for e in l[step]]
        blocks.append((number, hex(number * 7919), hex((number - 1) * 7919), 1700000000 + 12 * number, events))
        number += 1
    return blocks


def scale_chain(lps):
    """One vault with `lps` LPs: deposits in blocks of 1,000, then each LP-wide transition
    (AuctionStarted, AuctionEnded, OptionRoundSettled) in a block of its own."""
    v = Vault(0, lps, random.Random(lps))
    blocks = []

    def add(events):
        n = len(blocks) + 1
        blocks.append((n, hex(n * 7919), hex((n - 1) * 7919), 1700000000 + n, events))

    add([round_deployed(v, 1)])
    total = 0
    deposits = []
    for lp in v.lps:
        total += 10**18
        deposits.append(v.event("Deposit", [lp], u256(10**18) + u256(10**18) + u256(total)))
    for i in range(0, len(deposits), 1000):
        add(deposits[i:i + 1000])
    add([forwarded(v, 1, "AuctionStarted", [], u256(total) + u256(1000))])
    add([forwarded(v, 1, "BidPlaced", ["0xb1"], ["0x1"] + u256(1000) + u256(10**9) + ["0x1"])])
    add([forwarded(v, 1, "AuctionEnded", [], u256(1000) + u256(10**9) + u256(0) + ["0x0"])])
    add([forwarded(v, 1, "OptionRoundSettled", [], u256(1) + u256(10**6))])
    return blocks
