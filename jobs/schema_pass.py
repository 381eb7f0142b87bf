"""The schema pass of a table: what each column holds, before any encoding exists.

Parameters (``--params`` JSON): the common input description with ``table`` = ``{sep,
na_values, n_columns, categorical}`` (see :func:`jobs.table.schema_block`).

Emits one record, key ``"record"``: ``n`` (rows of the right width), ``columns_schema``
(per column: ``missing``, ``numbers``, ``sum``, ``levels``, ``overflow``; merged with
:func:`jobs.table.merge_schema`) and ``bad_rows``/``first_bad`` (rows of another width).
"""
from jobs.base import BlockJob
from jobs.table import schema_block


class MRSchemaPass(BlockJob):

    def _flush(self):
        if not self.buffer:
            return []
        summary, n_rows, bad = schema_block(self.buffer, self.params["table"])
        if bad:
            self._note_bad_rows(bad)
        self.add_to_record({"n": n_rows, "columns_schema": summary})
        self.buffer = []
        return []


if __name__ == "__main__":
    MRSchemaPass.run()
