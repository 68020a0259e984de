"""marshmallow request and response schemas, one module per resource family; imports core and models."""
