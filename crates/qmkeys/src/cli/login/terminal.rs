//! Showing a login QR in a terminal: the image is decoded back to its text
//! and drawn again as Unicode half blocks, which any terminal shows sharply
//! at any font size (drawing the image's own pixels would blur WeChat's
//! JPEG), and it is written to a PNG file for terminals that cannot.

use image::ImageFormat;
use qrcode::render::unicode::Dense1x2;
use qrcode::QrCode;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Prints the QR on stderr and writes it to `qmkeys-login-<pid>.png` in the
/// temporary directory; answers that file's path. A QR that cannot be
/// redrawn is still written to the file, which is then the only way to see it.
pub fn show(bytes: &[u8], mime: &str) -> Result<PathBuf, String> {
    let format = match mime {
        "image/jpeg" => ImageFormat::Jpeg,
        _ => ImageFormat::Png,
    };
    let image = image::load_from_memory_with_format(bytes, format)
        .map_err(|e| format!("the QR image cannot be read: {e}"))?;
    let path = std::env::temp_dir().join(format!("qmkeys-login-{}.png", std::process::id()));
    image
        .save_with_format(&path, ImageFormat::Png)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    match decode(&image.to_luma8()).and_then(|text| blocks(&text)) {
        // White on black where the terminal takes colours, so light and dark
        // themes show the same QR.
        Some(drawn) if std::io::stderr().is_terminal() => {
            for line in drawn.lines() {
                eprintln!("\x1b[97;40m{line}\x1b[0m");
            }
        }
        Some(drawn) => eprintln!("{drawn}"),
        None => eprintln!("(this QR cannot be drawn here: open the file below)"),
    }
    eprintln!("QR image: {}", path.display());
    Ok(path)
}

/// The text of the one QR in the image.
pub fn decode(image: &image::GrayImage) -> Option<String> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        // x < w and y < h by construction, so these conversions cannot fail.
        let (x, y) = (u32::try_from(x).unwrap_or(0), u32::try_from(y).unwrap_or(0));
        image.get_pixel(x, y)[0]
    });
    let grids = prepared.detect_grids();
    let (_, text) = grids.first()?.decode().ok()?;
    Some(text)
}

/// `text` as a QR of half blocks with its quiet zone: light modules are the
/// blocks and dark ones blanks, for light text on a dark background (as
/// `qrencode -t UTF8` draws it).
pub fn blocks(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drawn_qr_is_two_modules_a_line_with_a_quiet_zone() {
        let drawn = blocks("https://example.com/q").expect("drawn");
        let lines: Vec<&str> = drawn.lines().collect();
        // Version 2 (25 modules) plus 4 on each side, two rows a line.
        let width = lines[0].chars().count();
        assert_eq!(width, 25 + 8);
        assert_eq!(lines.len(), width.div_ceil(2));
        // The quiet zone is light: full blocks.
        assert!(lines[0].chars().all(|c| c == '█'), "{drawn}");
        assert!(drawn.contains(' ') && drawn.contains('▀'), "{drawn}");
    }

    #[test]
    fn a_qr_drawn_as_an_image_decodes_to_its_text() {
        let code = QrCode::new(b"qmkeys").expect("qr");
        let (width, colors) = (code.width() as u32, code.to_colors());
        // 4 px a module, 4 modules of quiet zone.
        let image = image::GrayImage::from_fn((width + 8) * 4, (width + 8) * 4, |x, y| {
            let (mx, my) = ((x / 4).wrapping_sub(4), (y / 4).wrapping_sub(4));
            let dark = mx < width
                && my < width
                && colors[(my * width + mx) as usize] == qrcode::Color::Dark;
            image::Luma([if dark { 0 } else { 255 }])
        });
        assert_eq!(decode(&image).as_deref(), Some("qmkeys"));
        assert_eq!(decode(&image::GrayImage::new(50, 50)), None);
    }
}
