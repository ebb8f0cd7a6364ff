/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CSV as RFC 4180 writes it (quoted fields with "" inside, line breaks in
 * quotes, CRLF or LF), read whole into rows of cells: the kiosk's roster and
 * the batch file.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "profile.h"

struct pe_csv {
	char **cells;  /* rows * cols, row-major */
	size_t *lines; /* the line each row starts on, 1-based */
	size_t rows, cols;
};

void
pe_csv_free(struct pe_csv *csv)
{
	size_t i;

	if (csv == NULL)
		return;
	for (i = 0; i < csv->rows * csv->cols; i++)
		free(csv->cells[i]);
	free(csv->cells);
	free(csv->lines);
	free(csv);
}

size_t
pe_csv_rows(const struct pe_csv *csv)
{
	return csv->rows;
}

size_t
pe_csv_cols(const struct pe_csv *csv)
{
	return csv->cols;
}

const char *
pe_csv_cell(const struct pe_csv *csv, size_t row, size_t col)
{
	if (row >= csv->rows || col >= csv->cols)
		return NULL;
	return csv->cells[row * csv->cols + col];
}

size_t
pe_csv_line(const struct pe_csv *csv, size_t row)
{
	return row < csv->rows ? csv->lines[row] : 0;
}

/* The parser's state while it walks the text. */
struct parse {
	struct pe_csv *csv;
	size_t cap_cells, cap_rows;
	size_t row_cells; /* cells of the current row so far */
	struct pe_buf cell;
};

static enum pe_code
cell_end(struct parse *p, struct pe_err *err)
{
	char **cells;
	size_t n = p->csv->rows * p->csv->cols + p->row_cells;
	enum pe_code rc;

	if (p->csv->cols != 0 && p->row_cells >= p->csv->cols)
		return PE_E_USAGE; /* the caller names the line */
	if (n >= p->cap_cells) {
		p->cap_cells = p->cap_cells ? p->cap_cells * 2 : 64;
		cells = realloc(p->csv->cells, p->cap_cells * sizeof(*cells));
		if (cells == NULL)
			return pe_err_set(err, PE_E_FAIL, "out of memory");
		p->csv->cells = cells;
	}
	rc = pe_buf_add(&p->cell, "", 1, err);
	if (rc != PE_OK)
		return rc;
	p->csv->cells[n] = (char *)pe_buf_take(&p->cell, NULL);
	if (p->csv->cells[n] == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	p->row_cells++;
	return PE_OK;
}

static enum pe_code
row_end(struct parse *p, size_t line, struct pe_err *err)
{
	size_t *lines;

	if (p->csv->rows == 0)
		p->csv->cols = p->row_cells;
	if (p->row_cells != p->csv->cols)
		return PE_E_USAGE;
	if (p->csv->rows >= p->cap_rows) {
		p->cap_rows = p->cap_rows ? p->cap_rows * 2 : 16;
		lines = realloc(p->csv->lines, p->cap_rows * sizeof(*lines));
		if (lines == NULL)
			return pe_err_set(err, PE_E_FAIL, "out of memory");
		p->csv->lines = lines;
	}
	p->csv->lines[p->csv->rows++] = line;
	p->row_cells = 0;
	return PE_OK;
}

/* Frees the cells of a row that was not finished. */
static void
row_drop(struct parse *p)
{
	size_t base = p->csv->rows * p->csv->cols, i;

	for (i = 0; i < p->row_cells; i++)
		free(p->csv->cells[base + i]);
	p->row_cells = 0;
}

/* True for a line with nothing on it, which is skipped rather than read as a row. */
static bool
blank_line(const char *s, size_t len)
{
	return len == 0 || (len == 1 && s[0] == '\r');
}

enum pe_code
pe_csv_parse(const char *text, size_t len, const char *name, struct pe_csv **out,
	     struct pe_err *err)
{
	struct parse p;
	size_t i = 0, line = 1, row_line = 1, eol;
	bool quoted, row_open = false;
	enum pe_code rc = PE_OK;
	char c;

	memset(&p, 0, sizeof(p));
	p.csv = calloc(1, sizeof(*p.csv));
	if (p.csv == NULL)
		return pe_err_set(err, PE_E_FAIL, "out of memory");
	pe_buf_init(&p.cell, 64 * 1024);
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		i = 3; /* a UTF-8 byte order mark, as spreadsheets write */
	while (rc == PE_OK && i < len) {
		if (!row_open) {
			for (eol = i; eol < len && text[eol] != '\n'; eol++)
				;
			if (blank_line(text + i, eol - i)) {
				i = eol + 1;
				line++;
				continue;
			}
			row_open = true;
			row_line = line;
		}
		quoted = text[i] == '"';
		if (quoted)
			i++;
		/* one cell */
		for (;;) {
			if (i >= len) {
				if (quoted)
					rc = pe_err_set(
						err, PE_E_USAGE,
						"%s: line %zu: a quoted field is not closed", name,
						row_line);
				break;
			}
			c = text[i];
			if (quoted && c == '"') {
				if (i + 1 < len && text[i + 1] == '"') {
					rc = pe_buf_add(&p.cell, "\"", 1, err);
					i += 2;
				} else {
					quoted = false;
					i++;
					if (i < len && text[i] != ',' && text[i] != '\n' &&
					    !(text[i] == '\r' && i + 1 < len &&
					      text[i + 1] == '\n') &&
					    !(text[i] == '\r' && i + 1 == len))
						rc = pe_err_set(
							err, PE_E_USAGE,
							"%s: line %zu: text after a closing "
							"quote",
							name, line);
				}
			} else if (!quoted &&
				   (c == ',' || c == '\n' ||
				    (c == '\r' && (i + 1 == len || text[i + 1] == '\n')))) {
				break;
			} else if (!quoted && c == '"') {
				rc = pe_err_set(err, PE_E_USAGE,
						"%s: line %zu: a quote inside an unquoted field",
						name, line);
			} else {
				if (c == '\n')
					line++;
				rc = pe_buf_add(&p.cell, &c, 1, err);
				i++;
			}
			if (rc != PE_OK)
				break;
		}
		if (rc != PE_OK)
			break;
		rc = cell_end(&p, err);
		if (rc == PE_E_USAGE) {
			rc = pe_err_set(err, PE_E_USAGE, "%s: line %zu has more than %zu fields",
					name, row_line, p.csv->cols);
			break;
		}
		if (rc != PE_OK)
			break;
		if (i < len && text[i] == ',') {
			i++; /* an empty last field after it is read on the next turn */
			continue;
		}
		/* the end of a row: "\r\n", "\n", "\r" at the end, or the end of the text */
		if (i < len && text[i] == '\r')
			i++;
		if (i < len && text[i] == '\n') {
			i++;
			line++;
		}
		rc = row_end(&p, row_line, err);
		if (rc == PE_E_USAGE)
			rc = pe_err_set(err, PE_E_USAGE,
					"%s: line %zu has %zu fields where the header has %zu",
					name, row_line, p.row_cells, p.csv->cols);
		row_open = false;
	}
	/* "a,b," ends in an empty field that the loop above did not see */
	if (rc == PE_OK && row_open) {
		if (len > 0 && text[len - 1] == ',')
			rc = cell_end(&p, err);
		if (rc == PE_OK)
			rc = row_end(&p, row_line, err);
		if (rc == PE_E_USAGE)
			rc = pe_err_set(err, PE_E_USAGE,
					"%s: line %zu has %zu fields where the header has %zu",
					name, row_line, p.row_cells, p.csv->cols);
	}
	pe_buf_cleanup(&p.cell);
	if (rc == PE_OK && p.csv->rows == 0)
		rc = pe_err_set(err, PE_E_USAGE, "%s has no header row", name);
	if (rc != PE_OK) {
		row_drop(&p);
		pe_csv_free(p.csv);
		return rc;
	}
	*out = p.csv;
	return PE_OK;
}
