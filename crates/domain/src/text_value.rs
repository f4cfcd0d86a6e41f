//! The conversions every string value object shares: serde reads one through its validating
//! constructor (`#[serde(try_from = "String", into = "String")]`) and writes its text back.

/// Implements `TryFrom<String>` (through a validating constructor taking `&str`) and
/// `From<T> for String` for single-field string newtypes. The error type is
/// [`FieldViolation`](crate::error::FieldViolation) unless one is named after a colon:
/// `string_conversions!(Email => Email::new, Id: InvalidId => str::parse)`.
macro_rules! string_conversions {
    ($($ty:ident $(: $error:ty)? => $ctor:expr),* $(,)?) => {$(
        impl TryFrom<String> for $ty {
            type Error = $crate::text_value::string_conversions!(@error $($error)?);
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                ($ctor)(raw.as_str())
            }
        }
        impl From<$ty> for String {
            fn from(value: $ty) -> Self {
                value.0
            }
        }
    )*};
    (@error) => { $crate::error::FieldViolation };
    (@error $error:ty) => { $error };
}

pub(crate) use string_conversions;

#[cfg(test)]
mod tests {
    use crate::accounts::{Email, Gender, PersonName, Username};
    use crate::apis::{ApiName, DisplayName, EndpointName};
    use crate::data::DataKey;
    use crate::id::Id;

    /// Each value object reads through its validating constructor and writes its text back.
    #[test]
    fn every_string_value_object_round_trips_and_refuses_what_its_constructor_refuses() {
        fn round_trip<T>(valid: &str, invalid: &str)
        where
            T: TryFrom<String> + Into<String>,
        {
            let value = T::try_from(valid.to_owned())
                .ok()
                .expect("valid text is read");
            assert_eq!(value.into(), valid);
            assert!(
                T::try_from(invalid.to_owned()).is_err(),
                "{invalid:?} is refused"
            );
        }
        round_trip::<Email>("a@example.com", "not an address");
        round_trip::<Username>("alice", "");
        round_trip::<Gender>("f", &"x".repeat(Gender::MAX_CHARS + 1));
        round_trip::<PersonName>("Ada", "\u{7}");
        round_trip::<ApiName>("my-api", "My API");
        round_trip::<DisplayName>("Shop", "");
        round_trip::<EndpointName>("orders", "keys");
        round_trip::<DataKey>("k", "");
        round_trip::<Id>("0123456789abcdef01234567", "xyz");
    }
}
