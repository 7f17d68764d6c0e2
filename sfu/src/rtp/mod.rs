//! The packet level of forwarding. Media is forwarded packet by packet in str0m's RTP
//! mode: a publisher's packet is decrypted once and its payload (shared, not copied)
//! is written to each subscriber's stream with that subscriber's own sequence
//! numbers, timestamps and VP8 picture ids ([`rewrite`]). What the SFU reads in a
//! payload is in [`payload`]; the recorder, which takes whole frames, gets them put
//! back together by [`assemble`].

pub mod assemble;
pub mod payload;
pub mod rewrite;
pub mod timeline;
