//! The publisher: content to its site's destinations (the site's active WordPress integrations),
//! as queued work with a record per content and destination.
//!
//! - [`records`]: the `PublishingRecord` (status, attempts, error, post id and URL), one per
//!   content and destination, read and listed by `publishing-records/`;
//! - [`request`]: `publish/` and the writer's `content/{id}/publish/`: records queued, one message
//!   each on the publish queue;
//! - [`run`]: the publish worker: images to the media library, terms, the post (created once,
//!   updated on republish), then the content moved to `published`;
//! - [`html`]: the post's HTML (in-article images placed, the API's image URLs rewritten);
//! - [`routes`]: the publisher function's routes.

pub mod html;
pub mod records;
pub mod request;
pub mod routes;
pub mod run;
