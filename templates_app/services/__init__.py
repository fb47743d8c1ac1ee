"""Every write of the templates app, split by subject: response templates and their versions, FAQs and
talking points, and the brand guidelines."""
