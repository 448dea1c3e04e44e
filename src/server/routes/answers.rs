//! The envelopes the routes answer with, as types for the OpenAPI document (the
//! answers themselves are built by [`super::success`] and [`super::ApiError`]).

use crate::envelope::ErrorBody;

/// A success envelope: `data` and `errors: null`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct Success<T> {
    /// The result.
    data: T,
    /// Null on success.
    #[schema(schema_with = null_schema)]
    errors: (),
}

/// A failure envelope: `data: null` and the errors.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct Failure {
    /// Null on failure.
    #[schema(schema_with = null_schema)]
    data: (),
    /// What went wrong (one entry).
    errors: Vec<ErrorBody>,
}

/// The answer of the list: the contacts beside a top-level `pagination`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct ListSuccess {
    /// The contacts, by creation.
    data: Vec<crate::ContactDetails>,
    /// Where the page stands.
    pagination: crate::Pagination,
    /// Null on success.
    #[schema(schema_with = null_schema)]
    errors: (),
}

fn null_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Null)
        .build()
}
