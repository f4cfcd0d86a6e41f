//! Unpacks the Swagger UI files that `GET /docs` serves from the archive that the
//! `utoipa-swagger-ui-vendored` crate carries, so the page needs no CDN and the build fetches
//! nothing from outside the crate registry. Each file is written to `OUT_DIR` as it is and
//! gzip-compressed (the bundle is 1.5 MB; most browsers take 0.45 MB instead).

use std::io::{Read, Write};
use std::path::Path;

use flate2::read::DeflateDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

/// The files the page needs, by their name in the archive's `dist/` folder.
const ASSETS: &[&str] = &[
    "swagger-ui-bundle.js",
    "swagger-ui.css",
    "favicon-32x32.png",
];

fn main() {
    let archive = utoipa_swagger_ui_vendored::SWAGGER_UI_VENDORED;
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let entries = central_directory(archive);
    for asset in ASSETS {
        let entry = entries
            .iter()
            .find(|e| e.name.ends_with(&format!("/dist/{asset}")))
            .unwrap_or_else(|| panic!("the Swagger UI archive has no dist/{asset}"));
        let bytes = entry.contents(archive);
        let path = Path::new(&out_dir).join(asset);
        std::fs::write(&path, &bytes).expect("write the asset");
        let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
        gzip.write_all(&bytes).expect("compress in memory");
        let compressed = gzip.finish().expect("compress in memory");
        std::fs::write(
            path.with_extension(format!("{}.gz", extension(asset))),
            compressed,
        )
        .expect("write the compressed asset");
    }
    println!("cargo:rerun-if-changed=build.rs");
}

fn extension(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// One file of a zip archive, as its central directory describes it.
struct Entry {
    name: String,
    method: u16,
    compressed_size: usize,
    size: usize,
    local_header: usize,
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> usize {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize
}

/// Reads the archive's central directory (APPNOTE 4.3.12 and 4.3.16; no zip64, which an
/// archive of this size does not use).
fn central_directory(archive: &[u8]) -> Vec<Entry> {
    const END_SIGNATURE: usize = 0x0605_4b50;
    const ENTRY_SIGNATURE: usize = 0x0201_4b50;
    let end = (0..=archive.len() - 22)
        .rev()
        .find(|&at| u32_at(archive, at) == END_SIGNATURE)
        .expect("a zip archive ends with its end-of-central-directory record");
    let count = usize::from(u16_at(archive, end + 10));
    let mut at = u32_at(archive, end + 16);
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        assert_eq!(
            u32_at(archive, at),
            ENTRY_SIGNATURE,
            "central directory entry"
        );
        let name_length = usize::from(u16_at(archive, at + 28));
        let extra_length = usize::from(u16_at(archive, at + 30));
        let comment_length = usize::from(u16_at(archive, at + 32));
        entries.push(Entry {
            name: String::from_utf8_lossy(&archive[at + 46..at + 46 + name_length]).into_owned(),
            method: u16_at(archive, at + 10),
            compressed_size: u32_at(archive, at + 20),
            size: u32_at(archive, at + 24),
            local_header: u32_at(archive, at + 42),
        });
        at += 46 + name_length + extra_length + comment_length;
    }
    entries
}

impl Entry {
    /// The file's bytes: stored (method 0) or deflated (method 8).
    fn contents(&self, archive: &[u8]) -> Vec<u8> {
        const LOCAL_SIGNATURE: usize = 0x0403_4b50;
        let at = self.local_header;
        assert_eq!(u32_at(archive, at), LOCAL_SIGNATURE, "local file header");
        let start =
            at + 30 + usize::from(u16_at(archive, at + 26)) + usize::from(u16_at(archive, at + 28));
        let data = &archive[start..start + self.compressed_size];
        let bytes = match self.method {
            0 => data.to_vec(),
            8 => {
                let mut bytes = Vec::with_capacity(self.size);
                DeflateDecoder::new(data)
                    .read_to_end(&mut bytes)
                    .expect("inflate the asset");
                bytes
            }
            other => panic!("{}: unsupported zip compression method {other}", self.name),
        };
        assert_eq!(bytes.len(), self.size, "{}: size", self.name);
        bytes
    }
}
