/** The package's version (package.json), shown by --version and written by reports that name their creator. */
export const VERSION = '0.1.0';
