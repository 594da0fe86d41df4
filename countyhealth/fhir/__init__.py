"""FHIR R4 knowledge of CountyHealth: derived definitions and resource validation."""
