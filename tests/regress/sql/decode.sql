-- evp_decode_event(event_name, keys, data) decodes one event as SPEC section 3 lays it out:
-- amounts as decimal strings, addresses normalised, u256 = low + high * 2^128.
CREATE EXTENSION event_processor;
-- The selectors (keys[0]) from the registry, as psql variables.
SELECT max(selector) FILTER (WHERE name = 'Deposit') AS deposit,
       max(selector) FILTER (WHERE name = 'Withdrawal') AS withdrawal,
       max(selector) FILTER (WHERE name = 'WithdrawalQueued') AS withdrawal_queued,
       max(selector) FILTER (WHERE name = 'AuctionEnded') AS auction_ended,
       max(selector) FILTER (WHERE name = 'BidUpdated') AS bid_updated,
       max(selector) FILTER (WHERE name = 'ContractDeployed') AS contract_deployed
  FROM evp_event_kinds() \gset

-- A Deposit with upper-case, zero-padded felts and an amount above 2^255.
SELECT jsonb_pretty(evp_decode_event('Deposit',
  ARRAY['0x' || upper(substr(:'deposit', 3)), '0x000ABC'],
  ARRAY['0x7', '0x80000000000000000000000000000005', '0x1', '0x0', '0x3', '0x1']));

-- Round events: direct (emitted by the round) ...
SELECT evp_decode_event('AuctionEnded',
  ARRAY[:'auction_ended'],
  ARRAY['0x64', '0x0', '0x3b9aca00', '0x0', '0x0', '0x0', '0x4']);
-- ... and forwarded by the vault: round id as the last key, round address as the last data felt.
SELECT evp_decode_event('AuctionEnded',
  ARRAY[:'auction_ended', '0x2'],
  ARRAY['0x64', '0x0', '0x3b9aca00', '0x0', '0x0', '0x0', '0x4', '0x0BEEF']);

-- A bid's tree nonce: BidUpdated direct → now − 1, forwarded → now.
SELECT evp_decode_event('BidUpdated',
  ARRAY[:'bid_updated', '0xa'],
  ARRAY['0x1', '0x10', '0x0', '0x2', '0x5']) ->> 'tree_nonce' AS direct_tree_nonce;
SELECT evp_decode_event('BidUpdated',
  ARRAY[:'bid_updated', '0xa', '0x1'],
  ARRAY['0x1', '0x10', '0x0', '0x2', '0x5', '0xbeef']) ->> 'tree_nonce' AS forwarded_tree_nonce;

-- The Universal Deployer's ContractDeployed: the vault's configuration is read by position
-- from the constructor calldata; the salt after it is ignored. strike_level is an i128.
SELECT evp_decode_event('ContractDeployed',
  ARRAY[:'contract_deployed'],
  ARRAY['0xa11', '0xde', '0x1', '0xc1a55', '0xa', '0xf0551', '0xe7', '0x0c1a55', '0x9c4',
        '0x800000000000010ffffffffffffffffffffffffffffffffffffffffffffe2a3',
        '0x124', '0x1ec', '0x171', '0x50495443485f4c414b455f5631', '0x7', '0x5a17']);

-- Malformed events: each class has its own message naming event, position and field.
SELECT evp_decode_event('Transfer', ARRAY['0x99cd8bde557814842a3121e8ddfd433a539b8c9f14bf31ebf108d12e6196e9'], ARRAY[]::text[]);
SELECT evp_decode_event('Deposit', ARRAY[:'withdrawal', '0x1'],
                        ARRAY['0x5', '0x0', '0x5', '0x0', '0x5', '0x0']);
SELECT evp_decode_event('Deposit', ARRAY[:'deposit'],
                        ARRAY['0x5', '0x0', '0x5', '0x0', '0x5', '0x0']);
SELECT evp_decode_event('Deposit', ARRAY[:'deposit', '0x1'],
                        ARRAY['0x5', '0x0', '0x5', '0x0', '0x5']);
SELECT evp_decode_event('Withdrawal', ARRAY[:'withdrawal', '0x1'],
                        ARRAY['0x5', '0x0', '0x5', '0x0', '0x5', '0x0', '0x0']);
SELECT evp_decode_event('Deposit', ARRAY[:'deposit', '0x1'],
                        ARRAY['0x5g', '0x0', '0x5', '0x0', '0x5', '0x0']);
SELECT evp_decode_event('Deposit', ARRAY[:'deposit', '0x1'],
                        ARRAY['5', '0x0', '0x5', '0x0', '0x5', '0x0']);
SELECT evp_decode_event('Deposit', ARRAY[:'deposit', '0x1'],
                        ARRAY['0x', '0x0', '0x5', '0x0', '0x5', '0x0']);
SELECT evp_decode_event('Deposit', ARRAY[:'deposit', '0x1'],
                        ARRAY['0x100000000000000000000000000000000', '0x0', '0x5', '0x0', '0x5', '0x0']);
SELECT evp_decode_event('Deposit', ARRAY[:'deposit',
                        '0x800000000000011000000000000000000000000000000000000000000000001'],
                        ARRAY['0x5', '0x0', '0x5', '0x0', '0x5', '0x0']);
SELECT evp_decode_event('WithdrawalQueued', ARRAY[:'withdrawal_queued', '0x1'],
                        ARRAY['0x1', '0x10000000000000000', '0x0', '0x0', '0x0', '0x0', '0x0', '0x0']);
SELECT evp_decode_event('Deposit', ARRAY[:'deposit', NULL],
                        ARRAY['0x5', '0x0', '0x5', '0x0', '0x5', '0x0']);

DROP EXTENSION event_processor;
DROP TABLE starknet_blocks, events;
