"""CountyHealth — 县域医共体数字健康平台: the digital platform of a county medical community."""

__version__ = "0.1.0"
