"""The inventory core: models, object types and queries; knows nothing of HTTP or connectors."""
