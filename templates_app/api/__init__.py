"""REST API of templates, FAQs and brand guidelines."""
