//! Showing a login QR in a terminal: the image is decoded back to its text
//! and drawn again as Unicode half blocks, which any terminal shows sharply
//! at any font size (drawing the image's own pixels would blur WeChat's
//! JPEG), and it is written to a PNG file for terminals that cannot.

use image::ImageFormat;
use qrcode::render::unicode::Dense1x2;
use qrcode::QrCode;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Prints the QR on stderr and writes it to a PNG file of its own in the
/// temporary directory; answers that file's path. A QR that cannot be
/// redrawn is still written to the file, which is then the only way to see it.
pub fn show(bytes: &[u8], mime: &str) -> Result<PathBuf, String> {
    show_in(&std::env::temp_dir(), bytes, mime)
}

/// As [`show`], in `temp` instead of the temporary directory.
pub fn show_in(temp: &Path, bytes: &[u8], mime: &str) -> Result<PathBuf, String> {
    let format = match mime {
        "image/jpeg" => ImageFormat::Jpeg,
        _ => ImageFormat::Png,
    };
    let image = image::load_from_memory_with_format(bytes, format)
        .map_err(|e| format!("the QR image cannot be read: {e}"))?;
    let mut png = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut png, ImageFormat::Png)
        .map_err(|e| format!("the QR image cannot be converted: {e}"))?;
    let path = write_private(temp, &png.into_inner())?;
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

/// Writes `png` as a new file only this user can read, in a new directory
/// only this user can enter, both under an unpredictable name in `temp`. A
/// login QR is a login to whoever scans it first, and a shared temporary
/// directory is anyone's: a predictable name could be read, raced or planted
/// as a symlink that the write would follow.
fn write_private(temp: &Path, png: &[u8]) -> Result<PathBuf, String> {
    let dir = temp.join(format!(
        "qmkeys-login-{}",
        hex::encode(rand::random::<[u8; 8]>())
    ));
    private_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join("qr.png");
    let written = new_private_file(&path).and_then(|mut file| {
        file.write_all(png)?;
        file.sync_all()
    });
    written.map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// A directory that must not exist yet (so nothing planted is used), 0700
/// whatever the umask.
#[cfg(unix)]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new().mode(0o700).create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir(dir)
}

/// A file that must not exist yet, so no symlink is followed, 0600 whatever
/// the umask.
#[cfg(unix)]
fn new_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

#[cfg(not(unix))]
fn new_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
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

    /// A PNG as the login hosts send one (its content does not matter here).
    fn qr_png() -> Vec<u8> {
        let image = image::GrayImage::from_pixel(40, 40, image::Luma([255]));
        let mut png = std::io::Cursor::new(Vec::new());
        image.write_to(&mut png, ImageFormat::Png).expect("png");
        png.into_inner()
    }

    #[cfg(unix)]
    #[test]
    fn the_qr_png_is_a_new_private_file_in_a_private_directory_and_a_planted_symlink_is_not_followed(
    ) {
        use std::os::unix::fs::PermissionsExt;
        let temp = tempfile::tempdir().expect("temp dir");
        // What an attacker would plant at the name earlier versions used.
        let target = temp.path().join("victim");
        std::fs::write(&target, "untouched").expect("victim");
        let old_name = temp
            .path()
            .join(format!("qmkeys-login-{}.png", std::process::id()));
        std::os::unix::fs::symlink(&target, &old_name).expect("symlink");

        let path = show_in(temp.path(), &qr_png(), "image/png").expect("written");

        assert_ne!(path, old_name, "not the predictable name");
        assert_eq!(
            std::fs::read_to_string(&target).expect("victim"),
            "untouched"
        );
        let mode = |p: &Path| {
            let bits = std::fs::metadata(p).expect("meta").permissions().mode();
            format!("{:o}", bits & 0o777)
        };
        assert_eq!(mode(&path), "600", "the PNG is the user's alone");
        let dir = path.parent().expect("dir");
        assert_eq!(mode(dir), "700", "so is its directory");
        assert_ne!(dir, temp.path(), "a directory of its own");
        assert!(image::open(&path).is_ok(), "a PNG that opens");

        let again = show_in(temp.path(), &qr_png(), "image/png").expect("written");
        assert_ne!(again, path, "each login gets a name of its own");
    }

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
