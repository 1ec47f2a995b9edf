-- evp_decode_event(event_name, keys, data) decodes one event as SPEC section 3 lays it out:
-- amounts as decimal strings, addresses normalised, u256 = low + high * 2^128.
CREATE EXTENSION event_processor;

-- A Deposit with upper-case, zero-padded felts and an amount above 2^255.
SELECT jsonb_pretty(evp_decode_event('Deposit',
  ARRAY['0x9149D2123147C5F43D258257FEF0B7B969DB78269369EBCF5EBB9EEF8592F2', '0x000ABC'],
  ARRAY['0x7', '0x80000000000000000000000000000005', '0x1', '0x0', '0x3', '0x1']));

-- Round events: direct (emitted by the round) ...
SELECT evp_decode_event('AuctionEnded',
  ARRAY['0x369d2b1c46f2b24795aafc23c97301b1f924966a1b4fdaad2473cf4d9df23ca'],
  ARRAY['0x64', '0x0', '0x3b9aca00', '0x0', '0x0', '0x0', '0x4']);
-- ... and forwarded by the vault: round id as the last key, round address as the last data felt.
SELECT evp_decode_event('AuctionEnded',
  ARRAY['0x369d2b1c46f2b24795aafc23c97301b1f924966a1b4fdaad2473cf4d9df23ca', '0x2'],
  ARRAY['0x64', '0x0', '0x3b9aca00', '0x0', '0x0', '0x0', '0x4', '0x0BEEF']);

-- A bid's tree nonce: BidUpdated direct → now − 1, forwarded → now.
SELECT evp_decode_event('BidUpdated',
  ARRAY['0x35446d7dda93a65e80ece35b20810ab34e64178c54b8693ef635afb5c2f7ee3', '0xa'],
  ARRAY['0x1', '0x10', '0x0', '0x2', '0x5']) ->> 'tree_nonce' AS direct_tree_nonce;
SELECT evp_decode_event('BidUpdated',
  ARRAY['0x35446d7dda93a65e80ece35b20810ab34e64178c54b8693ef635afb5c2f7ee3', '0xa', '0x1'],
  ARRAY['0x1', '0x10', '0x0', '0x2', '0x5', '0xbeef']) ->> 'tree_nonce' AS forwarded_tree_nonce;

-- The Universal Deployer's ContractDeployed: the vault's configuration is read by position
-- from the constructor calldata; the salt after it is ignored. strike_level is an i128.
SELECT evp_decode_event('ContractDeployed',
  ARRAY['0x26b160f10156dea0639bec90696772c640b9706a47f5b8c52ea1abe5858b34d'],
  ARRAY['0xa11', '0xde', '0x1', '0xc1a55', '0xa', '0xf0551', '0xe7', '0x0c1a55', '0x9c4',
        '0x800000000000010ffffffffffffffffffffffffffffffffffffffffffffe2a3',
        '0x124', '0x1ec', '0x171', '0x50495443485f4c414b455f5631', '0x7', '0x5a17']);

-- Malformed events: each class has its own message naming event, position and field.
SELECT evp_decode_event('Transfer', ARRAY['0x99cd8bde557814842a3121e8ddfd433a539b8c9f14bf31ebf108d12e6196e9'], ARRAY[]::text[]);
SELECT evp_decode_event('Deposit', ARRAY['0x2eed7e29b3502a726faf503ac4316b7101f3da813654e8df02c13449e03da8', '0x1'],
                        ARRAY['0x5', '0x0', '0x5', '0x0', '0x5', '0x0']);
SELECT evp_decode_event('Deposit', ARRAY['0x9149d2123147c5f43d258257fef0b7b969db78269369ebcf5ebb9eef8592f2'],
                        ARRAY['0x5', '0x0', '0x5', '0x0', '0x5', '0x0']);
SELECT evp_decode_event('Deposit', ARRAY['0x9149d2123147c5f43d258257fef0b7b969db78269369ebcf5ebb9eef8592f2', '0x1'],
                        ARRAY['0x5', '0x0', '0x5', '0x0', '0x5']);
SELECT evp_decode_event('Withdrawal', ARRAY['0x2eed7e29b3502a726faf503ac4316b7101f3da813654e8df02c13449e03da8', '0x1'],
                        ARRAY['0x5', '0x0', '0x5', '0x0', '0x5', '0x0', '0x0']);
SELECT evp_decode_event('Deposit', ARRAY['0x9149d2123147c5f43d258257fef0b7b969db78269369ebcf5ebb9eef8592f2', '0x1'],
                        ARRAY['0x5g', '0x0', '0x5', '0x0', '0x5', '0x0']);
SELECT evp_decode_event('Deposit', ARRAY['0x9149d2123147c5f43d258257fef0b7b969db78269369ebcf5ebb9eef8592f2', '0x1'],
                        ARRAY['5', '0x0', '0x5', '0x0', '0x5', '0x0']);
SELECT evp_decode_event('Deposit', ARRAY['0x9149d2123147c5f43d258257fef0b7b969db78269369ebcf5ebb9eef8592f2', '0x1'],
                        ARRAY['0x', '0x0', '0x5', '0x0', '0x5', '0x0']);
SELECT evp_decode_event('Deposit', ARRAY['0x9149d2123147c5f43d258257fef0b7b969db78269369ebcf5ebb9eef8592f2', '0x1'],
                        ARRAY['0x100000000000000000000000000000000', '0x0', '0x5', '0x0', '0x5', '0x0']);
SELECT evp_decode_event('Deposit', ARRAY['0x9149d2123147c5f43d258257fef0b7b969db78269369ebcf5ebb9eef8592f2',
                        '0x800000000000011000000000000000000000000000000000000000000000001'],
                        ARRAY['0x5', '0x0', '0x5', '0x0', '0x5', '0x0']);
SELECT evp_decode_event('WithdrawalQueued', ARRAY['0x36a0768f9b1cc8742e7726e951a13aec0f1ee9461c6be53a80378c49299c5fb', '0x1'],
                        ARRAY['0x1', '0x10000000000000000', '0x0', '0x0', '0x0', '0x0', '0x0', '0x0']);
SELECT evp_decode_event('Deposit', ARRAY['0x9149d2123147c5f43d258257fef0b7b969db78269369ebcf5ebb9eef8592f2', NULL],
                        ARRAY['0x5', '0x0', '0x5', '0x0', '0x5', '0x0']);

DROP EXTENSION event_processor;
DROP TABLE starknet_blocks, events;
