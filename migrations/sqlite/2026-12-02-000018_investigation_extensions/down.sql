DROP TABLE investigation_extensions;
