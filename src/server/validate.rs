//! Body validation of the REST APIs with the real services' messages: the
//! Organizer API's class-validator DTO for sign-in (a list of messages) and
//! the Participant API's hand-written sign-up and chat-request checks (one
//! message each), as recorded in `../shared/esme-transcripts/`.

use serde_json::Value;

use super::accounts::valid_email;
use super::gojson::GoStruct;

/// Longest e-mail the Organizer API accepts.
const EMAIL_MAX: usize = 320;
/// Shortest organizer password.
const ORGANIZER_PASSWORD_MIN: usize = 16;
/// Longest organizer password.
const ORGANIZER_PASSWORD_MAX: usize = 128;
/// Shortest participant password (bytes, as Go's `len`).
const PARTICIPANT_PASSWORD_MIN: usize = 8;
/// Longest chat-request description.
pub(crate) const DESCRIPTION_MAX: usize = 2000;

/// Organizer sign-in credentials that passed the DTO's checks.
#[derive(Debug, PartialEq)]
pub(crate) struct Credentials {
    pub(crate) email: String,
    pub(crate) password: String,
}

/// Checks a parsed sign-in body as NestJS's `ValidationPipe` (whitelist,
/// forbid non-whitelisted) does: unknown properties first, then each
/// property's constraints in declaration order. A body that is not an object
/// (or was not parsed because it was not typed JSON) is an empty object.
pub(crate) fn sign_in(body: Option<&Value>) -> Result<Credentials, Vec<String>> {
    let empty = serde_json::Map::new();
    let object = body.and_then(Value::as_object).unwrap_or(&empty);
    let mut errors: Vec<String> = object
        .keys()
        .filter(|k| *k != "email" && *k != "password")
        .map(|k| format!("property {k} should not exist"))
        .collect();
    let email = object.get("email").and_then(Value::as_str);
    let password = object.get("password").and_then(Value::as_str);
    let chars = |s: Option<&str>| s.map(|s| s.chars().count());
    if chars(email).is_none_or(|n| n > EMAIL_MAX) {
        errors.push(format!(
            "email must be shorter than or equal to {EMAIL_MAX} characters"
        ));
    }
    if !email.is_some_and(valid_email) {
        errors.push("email must be an email".into());
    }
    if chars(password).is_none_or(|n| n > ORGANIZER_PASSWORD_MAX) {
        errors.push(format!(
            "password must be shorter than or equal to {ORGANIZER_PASSWORD_MAX} characters"
        ));
    }
    if chars(password).is_none_or(|n| n < ORGANIZER_PASSWORD_MIN) {
        errors.push(format!(
            "password must be longer than or equal to {ORGANIZER_PASSWORD_MIN} characters"
        ));
    }
    if password.is_none() {
        errors.push("password must be a string".into());
    }
    match (email, password) {
        (Some(email), Some(password)) if errors.is_empty() => Ok(Credentials {
            email: email.into(),
            password: password.into(),
        }),
        _ => Err(errors),
    }
}

/// A participant sign-up body that passed the Participant API's checks.
#[derive(Debug, PartialEq)]
pub(crate) struct SignUp {
    pub(crate) email: String,
    pub(crate) password: String,
    pub(crate) phone_number: String,
}

/// Decodes and checks a sign-up body (Go's `signUpDTO`); the error is the
/// 400 message.
pub(crate) fn sign_up(body: &Value) -> Result<SignUp, String> {
    let dto = GoStruct::parse(body, "signUpDTO")?;
    let email = dto.string("email")?;
    let password = dto.string("password")?;
    let confirm = dto.string("confirmPassword")?;
    let phone_number = dto.string("phoneNumber")?;
    if !valid_email(&email) {
        return Err("invalid email address".into());
    }
    if password.len() < PARTICIPANT_PASSWORD_MIN {
        return Err(format!(
            "password must be at least {PARTICIPANT_PASSWORD_MIN} characters"
        ));
    }
    if password != confirm {
        return Err("confirmPassword must match password".into());
    }
    Ok(SignUp {
        email,
        password,
        phone_number,
    })
}

/// A chat-request body that passed the checks.
#[derive(Debug, PartialEq)]
pub(crate) struct ChatRequest {
    /// 0 when the body had none (the API then answers 404 for event 0).
    pub(crate) event_id: i64,
    pub(crate) description: String,
    pub(crate) lat: Option<f64>,
    pub(crate) lng: Option<f64>,
}

/// Decodes and checks a chat-request body (Go's `createChatRequestDto`).
pub(crate) fn chat_request(body: &Value) -> Result<ChatRequest, String> {
    let dto = GoStruct::parse(body, "createChatRequestDto")?;
    let request = ChatRequest {
        event_id: dto.int("eventId")?,
        description: dto.string("description")?,
        lat: dto.float("lat")?,
        lng: dto.float("lng")?,
    };
    if request.description.chars().count() > DESCRIPTION_MAX {
        return Err(format!(
            "description must be at most {DESCRIPTION_MAX} characters"
        ));
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sign_in_messages_follow_the_dto() {
        let all = sign_in(Some(&json!({}))).unwrap_err();
        assert_eq!(all.len(), 5);
        assert_eq!(all, sign_in(None).unwrap_err());
        assert_eq!(
            sign_in(Some(&json!({"email": "jan", "password": "p".repeat(16)}))).unwrap_err(),
            vec!["email must be an email"]
        );
        assert_eq!(
            sign_in(Some(&json!({"email": "a@b.co", "password": "short"}))).unwrap_err(),
            vec!["password must be longer than or equal to 16 characters"]
        );
        assert_eq!(
            sign_in(Some(
                &json!({"email": "a@b.co", "password": "p".repeat(16), "displayName": "x"})
            ))
            .unwrap_err(),
            vec!["property displayName should not exist"]
        );
        let ok = sign_in(Some(
            &json!({"email": "a@b.co", "password": "p".repeat(16)}),
        ))
        .unwrap();
        assert_eq!(ok.email, "a@b.co");
    }

    #[test]
    fn sign_up_checks_in_order() {
        let body =
            |e: &str, p: &str, c: &str| json!({"email": e, "password": p, "confirmPassword": c});
        assert_eq!(
            sign_up(&body("x", "a", "b")).unwrap_err(),
            "invalid email address"
        );
        assert_eq!(
            sign_up(&body("a@b.co", "short", "x")).unwrap_err(),
            "password must be at least 8 characters"
        );
        assert_eq!(
            sign_up(&body("a@b.co", "longenough", "x")).unwrap_err(),
            "confirmPassword must match password"
        );
        assert_eq!(
            sign_up(&body("a@b.co", "longenough", "longenough"))
                .unwrap()
                .phone_number,
            ""
        );
    }

    #[test]
    fn chat_request_defaults_and_limits() {
        let r = chat_request(&json!({"description": "x"})).unwrap();
        assert_eq!((r.event_id, r.lat), (0, None));
        let r = chat_request(&json!({"eventId": 1, "lat": 52.5, "lng": 21})).unwrap();
        assert_eq!((r.lat, r.lng), (Some(52.5), Some(21.0)));
        assert_eq!(
            chat_request(&json!({"eventId": 1, "description": "x".repeat(2001)})).unwrap_err(),
            "description must be at most 2000 characters"
        );
        assert!(chat_request(&json!({"eventId": 1, "description": "x".repeat(2000)})).is_ok());
    }
}
