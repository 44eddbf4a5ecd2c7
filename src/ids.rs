//! The ids of the rows every capability refers to: municipalities, organisations and users, and
//! [`string_id!`](crate::string_id) that defines an id type. Here, below every capability, so
//! that audit, mail or a schedule can name a user or a municipality without importing the
//! accounts that manage them.

/// Defines a `String` newtype id for a table, generated as a random UUID.
#[macro_export]
macro_rules! string_id {
    ($name:ident) => {
        #[derive(
            Clone,
            Debug,
            PartialEq,
            Eq,
            Hash,
            serde::Serialize,
            serde::Deserialize,
            diesel::expression::AsExpression,
            diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn generate() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                self.0.to_sql(out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                String::from_sql(bytes).map(Self)
            }
        }
    };
}

string_id!(MunicipalityId);
string_id!(OrganisationId);
string_id!(UserId);

/// A reference code people can read aloud and type: `prefix`, then groups of random characters
/// from an alphabet without the ones that are easily confused (0/O, 1/I/L), joined by dashes:
/// `reference("OA", &[4, 2])` gives e.g. `OA-7K3F-Q9`.
pub fn reference(prefix: &str, groups: &[usize]) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut rng = rand::thread_rng();
    let mut code = String::from(prefix);
    for &n in groups {
        code.push('-');
        code.extend((0..n).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char));
    }
    code
}
