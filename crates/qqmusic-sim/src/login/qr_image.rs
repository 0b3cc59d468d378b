//! Real, decodable QR images: PNG as ptqrshow serves them, JPEG as
//! WeChat's qrcode does.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, GrayImage, ImageEncoder, Luma};
use qrcode::{Color, EcLevel, QrCode};

/// Why an image could not be made (a text too long for a QR, an encoder error).
#[derive(Debug, thiserror::Error)]
#[error("QR image: {0}")]
pub struct ImageError(String);

/// The QR of `text` as grey pixels: `scale` pixels a module, `margin`
/// modules of quiet zone.
fn render(text: &str, scale: u32, margin: u32) -> Result<GrayImage, ImageError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| ImageError(e.to_string()))?;
    let width = u32::try_from(code.width()).map_err(|e| ImageError(e.to_string()))?;
    let colors = code.to_colors();
    let side = (width + 2 * margin) * scale;
    Ok(GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = (x / scale, y / scale);
        let dark = mx >= margin
            && my >= margin
            && mx - margin < width
            && my - margin < width
            && colors
                .get(((my - margin) * width + (mx - margin)) as usize)
                .is_some_and(|c| *c == Color::Dark);
        Luma([if dark { 0 } else { 255 }])
    }))
}

/// ptqrshow's image: 3 px a module (the `s=3` it is asked for), margin 2.
pub fn png(text: &str) -> Result<Vec<u8>, ImageError> {
    let img = render(text, 3, 2)?;
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::L8,
        )
        .map_err(|e| ImageError(e.to_string()))?;
    Ok(out)
}

/// WeChat's image: 10 px a module, margin 4, JPEG quality 90.
pub fn jpeg(text: &str) -> Result<Vec<u8>, ImageError> {
    let img = render(text, 10, 4)?;
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::L8,
        )
        .map_err(|e| ImageError(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_png_starts_with_the_png_signature_and_the_jpeg_with_soi() {
        let png = png("https://txz.qq.com/p?k=abc&f=716027609").unwrap_or_default();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        let jpeg = jpeg("https://open.weixin.qq.com/connect/confirm?uuid=x").unwrap_or_default();
        assert!(jpeg.starts_with(&[0xFF, 0xD8, 0xFF]));
    }
}
