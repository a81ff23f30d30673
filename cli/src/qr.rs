//! Invite codes as QR code pictures (PNG), for a phone to scan.

use std::path::Path;

use anyhow::{Context, Result};
use qrcode::{Color, EcLevel, QrCode};

/// Pixels per module and modules of quiet zone around the code.
const SCALE: usize = 8;
const QUIET: usize = 4;

/// Writes `text` as a black-on-white QR code PNG.
pub fn write_png(text: &str, path: &Path) -> Result<()> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .context("the invite code is too long for a QR code")?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color == Color::Dark {
            let (mx, my) = (i % modules + QUIET, i / modules + QUIET);
            for y in my * SCALE..(my + 1) * SCALE {
                pixels[y * side + mx * SCALE..y * side + (mx + 1) * SCALE].fill(0);
            }
        }
    }
    let mut png_bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png_bytes, side as u32, side as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder
            .write_header()
            .context("cannot encode the QR code")?;
        writer
            .write_image_data(&pixels)
            .context("cannot encode the QR code")?;
    }
    crate::write_atomically(path, &png_bytes)
}
