//! Reading a request body with a size cap, telling "too large" from "cut short".

use std::pin::Pin;

use axum::body::{Body, Bytes, HttpBody};

/// Largest object the bucket accepts.
pub const MAX_OBJECT_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// More than the cap arrived (or was declared).
    TooLarge,
    /// The connection failed before the body was complete.
    Incomplete,
}

/// Reads `body` whole, stopping as soon as it passes `cap` bytes.
pub async fn read_capped(mut body: Body, cap: usize) -> Result<Bytes, BodyError> {
    let mut buf: Vec<u8> = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|_| BodyError::Incomplete)?;
        // Trailers carry no body bytes.
        if let Ok(data) = frame.into_data() {
            if buf.len().saturating_add(data.len()) > cap {
                return Err(BodyError::TooLarge);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_at_the_cap_is_read_and_one_byte_more_is_too_large() {
        let at = read_capped(Body::from(vec![7u8; 10]), 10).await;
        assert_eq!(at.map(|b| b.len()), Ok(10));
        let over = read_capped(Body::from(vec![7u8; 11]), 10).await;
        assert_eq!(over, Err(BodyError::TooLarge));
    }
}
