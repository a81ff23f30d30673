//! A store's files as SQLCipher wrote them, decrypted page by page with the store's raw key, so
//! that a test can look for erased content in every page, free ones included (grepping the
//! encrypted file would prove nothing). The store's cipher settings (`CIPHER_SETTINGS`): 1 KiB
//! pages, AES-256-CBC per page with its IV in the page's reserved bytes (IV then an
//! HMAC-SHA256: 48 bytes at the end of each page); page 1 starts with the file's 16-byte salt.
//! The write-ahead log holds whole pages after a 32-byte header, each behind a 24-byte frame
//! header that starts with its page number.

#![allow(dead_code)]

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecrypt, KeyInit};

pub const PAGE: usize = 1024;
const RESERVE: usize = 48;

/// The plaintext of one encrypted page (`number` counts from 1); its reserved bytes left out.
fn page_plaintext(aes: &aes::Aes256, page: &[u8], number: u32) -> Vec<u8> {
    let start = if number == 1 { 16 } else { 0 };
    let end = PAGE - RESERVE;
    let mut previous: [u8; 16] = page[end..end + 16].try_into().expect("an IV");
    let mut out = Vec::with_capacity(end - start);
    for block in page[start..end].chunks_exact(16) {
        let mut b = GenericArray::clone_from_slice(block);
        aes.decrypt_block(&mut b);
        out.extend(b.iter().zip(previous).map(|(x, p)| x ^ p));
        previous = block.try_into().expect("a block");
    }
    out
}

/// Every page of a database file, decrypted, one after the other.
pub fn database_plaintext(file: &[u8], key: &[u8; 32]) -> Vec<u8> {
    let aes = aes::Aes256::new(GenericArray::from_slice(key));
    file.chunks_exact(PAGE)
        .enumerate()
        .flat_map(|(i, page)| page_plaintext(&aes, page, i as u32 + 1))
        .collect()
}

/// Every page of a write-ahead log, decrypted (nothing for an empty log).
pub fn wal_plaintext(file: &[u8], key: &[u8; 32]) -> Vec<u8> {
    let aes = aes::Aes256::new(GenericArray::from_slice(key));
    let mut out = Vec::new();
    let Some(frames) = file.get(32..) else {
        return out;
    };
    for frame in frames.chunks_exact(24 + PAGE) {
        let number = u32::from_be_bytes(frame[..4].try_into().expect("a page number"));
        out.extend(page_plaintext(&aes, &frame[24..], number));
    }
    out
}

/// The plaintext of a store's database file and of its log, if any, together.
pub fn store_plaintext(path: &std::path::Path, key: &[u8; 32]) -> Vec<u8> {
    let mut out = database_plaintext(&std::fs::read(path).expect("the store file"), key);
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if let Ok(log) = std::fs::read(&wal) {
        out.extend(wal_plaintext(&log, key));
    }
    out
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}
