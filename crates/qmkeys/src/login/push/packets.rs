//! Section 10.1's packets: the CONNECT and SUBSCRIBE the session sends,
//! and what a CONNACK, SUBACK or PUBLISH from the push host means.

use super::{Pushed, KEEP_ALIVE};
use crate::login::secret::Secret;
use crate::login::LoginError;
use rumqttc::v5::mqttbytes::v5::{
    ConnAck, Connect, ConnectProperties, ConnectReturnCode, Filter, Publish, Subscribe,
    SubscribeProperties, SubscribeReasonCode,
};
use rumqttc::v5::mqttbytes::QoS;
use serde_json::Value;

/// Section 10.1's CONNECT: client id `<unix ms><4 random digits>`, keep-alive
/// 45 s, clean start, Authentication Method `pass` and the five User
/// Properties in their order.
pub(super) fn connect_packet(qrcode_id: &str) -> Connect {
    let client_id = format!(
        "{}{:04}",
        crate::login::wire::now_ms(),
        rand::random::<u16>() % 10_000
    );
    let user_properties = [
        ("tmeAppID", "qqmusic"),
        ("business", "management"),
        ("hashTag", qrcode_id),
        ("clientTag", "management.user"),
        ("userID", qrcode_id),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Connect {
        keep_alive: KEEP_ALIVE,
        client_id,
        clean_start: true,
        properties: Some(ConnectProperties {
            authentication_method: Some("pass".into()),
            user_properties,
            ..ConnectProperties::new()
        }),
    }
}

/// Section 10.1's SUBSCRIBE: QoS 0 to the QR's topic, with its two User Properties.
pub(super) fn subscribe_packet(qrcode_id: &str) -> Subscribe {
    let properties = SubscribeProperties {
        id: None,
        user_properties: vec![
            ("authorization".into(), "tmelogin".into()),
            ("pubsub".into(), "unicast".into()),
        ],
    };
    let mut subscribe = Subscribe::new(
        Filter::new(
            format!("management.qrcode_login/{qrcode_id}"),
            QoS::AtMostOnce,
        ),
        Some(properties),
    );
    subscribe.pkid = 1;
    subscribe
}

pub(super) enum Connected {
    /// With the keep-alive to use.
    Yes(u16),
    /// Redirected, with the Server Reference.
    Elsewhere(String),
}

pub(super) fn connack(ack: ConnAck) -> Result<Connected, LoginError> {
    let (keep_alive, reference) = ack
        .properties
        .map_or((None, None), |p| (p.server_keep_alive, p.server_reference));
    match ack.code {
        ConnectReturnCode::Success => Ok(Connected::Yes(keep_alive.unwrap_or(KEEP_ALIVE))),
        ConnectReturnCode::UseAnotherServer | ConnectReturnCode::ServerMoved => reference
            .filter(|r| !r.is_empty())
            .map(Connected::Elsewhere)
            .ok_or(LoginError::Protocol(
                "push host redirected without a Server Reference",
            )),
        code => Err(LoginError::PushRefused {
            step: "CONNECT",
            reason: connack_reason(code),
        }),
    }
}

/// A PUBLISH's meaning, by its `type` User Property; None for other types.
pub(super) fn read_publish(publish: &Publish) -> Result<Option<Pushed>, LoginError> {
    let kind = publish
        .properties
        .as_ref()
        .and_then(|p| p.user_properties.iter().find(|(k, _)| k == "type"))
        .map(|(_, v)| v.as_str());
    Ok(Some(match kind {
        Some("scanned") => Pushed::Scanned,
        Some("canceled") => Pushed::Canceled,
        Some("timeout") => Pushed::Timeout,
        Some("loginFailed") => Pushed::LoginFailed,
        Some("cookies") => read_cookies(&publish.payload)?,
        _ => return Ok(None),
    }))
}

/// `{"cookies":{"qqmusic_uin":{"value":..},"qqmusic_key":{"value":..}}}`;
/// both values are required.
fn read_cookies(payload: &[u8]) -> Result<Pushed, LoginError> {
    let unreadable = || LoginError::Protocol("cookies message lacks a usable uin or key");
    let json: Value = serde_json::from_slice(payload).map_err(|_| unreadable())?;
    let value = |name: &str| json["cookies"][name]["value"].as_str().unwrap_or_default();
    let uin = value("qqmusic_uin");
    let uin = Some(uin)
        .filter(|u| !u.is_empty() && u.len() <= 20 && u.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|u| u.parse::<u64>().ok())
        .filter(|&u| u != 0)
        .ok_or_else(unreadable)?;
    let token = Secret::cookie(value("qqmusic_key")).ok_or_else(unreadable)?;
    Ok(Pushed::Cookies { uin, token })
}

/// The MQTT 5 reason code of a refused CONNACK, for the message.
fn connack_reason(code: ConnectReturnCode) -> u8 {
    use ConnectReturnCode as C;
    match code {
        C::Success => 0x00,
        C::RefusedProtocolVersion => 0x01,
        C::BadClientId => 0x02,
        C::ServiceUnavailable => 0x03,
        C::UnspecifiedError => 0x80,
        C::MalformedPacket => 0x81,
        C::ProtocolError => 0x82,
        C::ImplementationSpecificError => 0x83,
        C::UnsupportedProtocolVersion => 0x84,
        C::ClientIdentifierNotValid => 0x85,
        C::BadUserNamePassword => 0x86,
        C::NotAuthorized => 0x87,
        C::ServerUnavailable => 0x88,
        C::ServerBusy => 0x89,
        C::Banned => 0x8A,
        C::BadAuthenticationMethod => 0x8C,
        C::TopicNameInvalid => 0x90,
        C::PacketTooLarge => 0x95,
        C::QuotaExceeded => 0x97,
        C::PayloadFormatInvalid => 0x99,
        C::RetainNotSupported => 0x9A,
        C::QoSNotSupported => 0x9B,
        C::UseAnotherServer => 0x9C,
        C::ServerMoved => 0x9D,
        C::ConnectionRateExceeded => 0x9F,
    }
}

pub(super) fn suback_reason(code: SubscribeReasonCode) -> u8 {
    use SubscribeReasonCode as S;
    match code {
        S::Success(qos) => qos as u8,
        S::Failure | S::Unspecified => 0x80,
        S::ImplementationSpecific => 0x83,
        S::NotAuthorized => 0x87,
        S::TopicFilterInvalid => 0x8F,
        S::PkidInUse => 0x91,
        S::QuotaExceeded => 0x97,
        S::SharedSubscriptionsNotSupported => 0x9E,
        S::SubscriptionIdNotSupported => 0xA1,
        S::WildcardSubscriptionsNotSupported => 0xA2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connect_carries_section_10_1s_properties_in_order() {
        let c = connect_packet("QRID");
        assert_eq!(c.keep_alive, 45);
        assert!(c.clean_start);
        assert!(c.client_id.len() >= 17 && c.client_id.bytes().all(|b| b.is_ascii_digit()));
        let p = c.properties.expect("properties");
        assert_eq!(p.authentication_method.as_deref(), Some("pass"));
        let names: Vec<_> = p
            .user_properties
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(
            names,
            [
                "tmeAppID=qqmusic",
                "business=management",
                "hashTag=QRID",
                "clientTag=management.user",
                "userID=QRID"
            ]
        );
        let s = subscribe_packet("QRID");
        assert_eq!(s.filters[0].path, "management.qrcode_login/QRID");
        assert_eq!(s.filters[0].qos, QoS::AtMostOnce);
    }

    fn ack(code: ConnectReturnCode, keep_alive: Option<u16>, reference: Option<&str>) -> ConnAck {
        let properties = rumqttc::v5::mqttbytes::v5::ConnAckProperties {
            session_expiry_interval: None,
            receive_max: None,
            max_qos: None,
            retain_available: None,
            max_packet_size: None,
            assigned_client_identifier: None,
            topic_alias_max: None,
            reason_string: None,
            user_properties: Vec::new(),
            wildcard_subscription_available: None,
            subscription_identifiers_available: None,
            shared_subscription_available: None,
            server_keep_alive: keep_alive,
            response_information: None,
            server_reference: reference.map(str::to_owned),
            authentication_method: None,
            authentication_data: None,
        };
        ConnAck {
            session_present: false,
            code,
            properties: Some(properties),
        }
    }

    #[test]
    fn a_connack_gives_the_keep_alive_a_node_to_go_to_or_the_refusals_reason() {
        use ConnectReturnCode as C;
        assert!(matches!(
            connack(ack(C::Success, Some(40), None)),
            Ok(Connected::Yes(40))
        ));
        assert!(matches!(
            connack(ack(C::Success, None, None)),
            Ok(Connected::Yes(45))
        ));
        assert!(
            matches!(connack(ack(C::UseAnotherServer, None, Some("n:1"))), Ok(Connected::Elsewhere(r)) if r == "n:1")
        );
        assert!(matches!(
            connack(ack(C::ServerMoved, None, None)),
            Err(LoginError::Protocol(_))
        ));
        assert!(matches!(
            connack(ack(C::NotAuthorized, None, None)),
            Err(LoginError::PushRefused {
                step: "CONNECT",
                reason: 0x87
            })
        ));
    }

    #[test]
    fn a_cookies_message_needs_both_values() {
        let ok = br#"{"cookies":{"qqmusic_uin":{"value":"12345678"},"qqmusic_key":{"value":"Q_H_L_x"}}}"#;
        assert!(matches!(
            read_cookies(ok),
            Ok(Pushed::Cookies {
                uin: 12_345_678,
                ..
            })
        ));
        let no_key = br#"{"cookies":{"qqmusic_uin":{"value":"12345678"}}}"#;
        assert!(read_cookies(no_key).is_err());
        let bad_uin = br#"{"cookies":{"qqmusic_uin":{"value":"12a"},"qqmusic_key":{"value":"k"}}}"#;
        assert!(read_cookies(bad_uin).is_err());
        assert!(read_cookies(b"not json").is_err());
    }
}
