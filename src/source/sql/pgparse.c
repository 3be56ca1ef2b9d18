/*
 * Serializes libpg_query's raw parse tree straight to protobuf wire format.
 *
 * libpg_query's own path builds a upb message tree and then encodes it; upb's encoder visits
 * every field of every message, and each tree node is a `Node` oneof of some 270 fields, so
 * encoding cost most of a parse. This writer emits each field as it walks the tree, from the
 * same generated per-node field lists (pg_query_outfuncs_defs.c) that libpg_query's writers
 * use, and yields bytes the `pg_query` crate's prost types decode to the identical message.
 *
 * Field numbers come from pg_query.proto through the header the build script generates.
 * Submessage lengths are reserved as five-byte varints and patched when the submessage ends:
 * protobuf decoders accept non-minimal varints, and one pass beats measuring sizes first.
 *
 * The linter asks for a lean tree: what lowering (src/source/lower.rs) never reads is left out,
 * because decoding it into Rust types cost as much as parsing it. The planner, which deparses
 * trees back to SQL, asks for the whole tree.
 */
#include "pg_query.h"
#include "pg_query_internal.h"

#include "postgres.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "nodes/value.h"

#include "lockgate_fields.h"

typedef struct
{
	unsigned char *data;
	size_t		len;
	size_t		cap;
	int			depth;
	bool		lean;
} Out;

#define WIRE_VARINT 0
#define WIRE_FIXED64 1
#define WIRE_LEN 2
#define LENGTH_BYTES 5

static void
reserve(Out *out, size_t more)
{
	unsigned char *grown;

	if (out->len + more <= out->cap)
		return;
	while (out->len + more > out->cap)
		out->cap = out->cap ? out->cap * 2 : 4096;
	/* On failure the old buffer stays in out->data, where the error path frees it. */
	grown = realloc(out->data, out->cap);
	if (grown == NULL)
		elog(ERROR, "out of memory while serializing the parse tree");
	out->data = grown;
}

static inline void
put_varint(Out *out, uint64 value)
{
	reserve(out, 10);
	while (value >= 0x80)
	{
		out->data[out->len++] = (unsigned char) (value | 0x80);
		value >>= 7;
	}
	out->data[out->len++] = (unsigned char) value;
}

static inline void
put_tag(Out *out, int field, int wire)
{
	put_varint(out, ((uint64) field << 3) | wire);
}

/* Opens a length-delimited field; returns where its content starts. */
static inline size_t
begin(Out *out, int field)
{
	if (++out->depth > PG_QUERY_PROTOBUF_MAX_DEPTH)
		elog(ERROR, "parse tree is nested too deeply to serialize to protobuf");
	put_tag(out, field, WIRE_LEN);
	reserve(out, LENGTH_BYTES);
	out->len += LENGTH_BYTES;
	return out->len;
}

static inline void
end(Out *out, size_t start)
{
	size_t		length = out->len - start;
	unsigned char *at = out->data + start - LENGTH_BYTES;
	int			i;

	for (i = 0; i < LENGTH_BYTES - 1; i++)
		at[i] = (unsigned char) (((length >> (7 * i)) & 0x7f) | 0x80);
	at[LENGTH_BYTES - 1] = (unsigned char) ((length >> (7 * (LENGTH_BYTES - 1))) & 0x7f);
	out->depth--;
}

static inline void
put_bytes(Out *out, int field, const char *bytes, size_t length)
{
	put_tag(out, field, WIRE_LEN);
	put_varint(out, length);
	reserve(out, length);
	memcpy(out->data + out->len, bytes, length);
	out->len += length;
}

/* proto3 leaves zero scalars and empty strings out; so does upb. */
static inline void
put_int(Out *out, int field, int64 value)
{
	if (value != 0)
	{
		put_tag(out, field, WIRE_VARINT);
		put_varint(out, (uint64) value);
	}
}

static inline void
put_uint(Out *out, int field, uint64 value)
{
	if (value != 0)
	{
		put_tag(out, field, WIRE_VARINT);
		put_varint(out, value);
	}
}

static inline void
put_double(Out *out, int field, double value)
{
	uint64		bits;

	memcpy(&bits, &value, sizeof bits);
	if (bits != 0)
	{
		put_tag(out, field, WIRE_FIXED64);
		reserve(out, 8);
		memcpy(out->data + out->len, &bits, 8);
		out->len += 8;
	}
}

static inline void
put_string(Out *out, int field, const char *value)
{
	if (value != NULL && value[0] != '\0')
		put_bytes(out, field, value, strlen(value));
}

static inline void
put_char(Out *out, int field, char value)
{
	if (value != 0)
		put_bytes(out, field, &value, 1);
}

#define FIELD(msgtype, name) LGF_##msgtype##_##name
#define LGF_Node_float_ LGF_Node_float

#define OUT_TYPE(typename, typename_c) Out *

#define IS_FIELD(msgtype, outname, message, field) \
	(LGM_##msgtype == LGM_##message && FIELD(msgtype, outname) == FIELD(message, field))

/*
 * Left out of a lean tree: the clauses of queries (views, CREATE TABLE AS, INSERT … SELECT,
 * subqueries), what data changes write and return, function bodies and comment texts. Lowering
 * names these statements by their kind and target alone.
 */
#define UNREAD(msgtype, outname) \
	((LGM_##msgtype == LGM_SelectStmt && !IS_FIELD(msgtype, outname, SelectStmt, values_lists)) || \
	 IS_FIELD(msgtype, outname, InsertStmt, cols) || \
	 IS_FIELD(msgtype, outname, InsertStmt, on_conflict_clause) || \
	 IS_FIELD(msgtype, outname, InsertStmt, returning_clause) || \
	 IS_FIELD(msgtype, outname, InsertStmt, with_clause) || \
	 IS_FIELD(msgtype, outname, UpdateStmt, target_list) || \
	 IS_FIELD(msgtype, outname, UpdateStmt, from_clause) || \
	 IS_FIELD(msgtype, outname, UpdateStmt, returning_clause) || \
	 IS_FIELD(msgtype, outname, UpdateStmt, with_clause) || \
	 IS_FIELD(msgtype, outname, DeleteStmt, using_clause) || \
	 IS_FIELD(msgtype, outname, DeleteStmt, returning_clause) || \
	 IS_FIELD(msgtype, outname, DeleteStmt, with_clause) || \
	 IS_FIELD(msgtype, outname, CreateFunctionStmt, parameters) || \
	 IS_FIELD(msgtype, outname, CreateFunctionStmt, return_type) || \
	 IS_FIELD(msgtype, outname, CreateFunctionStmt, options) || \
	 IS_FIELD(msgtype, outname, CreateFunctionStmt, sql_body) || \
	 IS_FIELD(msgtype, outname, DoStmt, args) || \
	 IS_FIELD(msgtype, outname, CommentStmt, comment))

/*
 * Written as one empty item in a lean tree: lowering asks only whether an INSERT takes VALUES
 * rows, and whether an UPDATE or DELETE has a WHERE. Multi-row INSERTs were a third of the
 * bytes of the trees of the benchmark's 10,000 migrations.
 */
#define PRESENCE_ONLY(msgtype, outname) \
	(IS_FIELD(msgtype, outname, SelectStmt, values_lists) || \
	 IS_FIELD(msgtype, outname, UpdateStmt, where_clause) || \
	 IS_FIELD(msgtype, outname, DeleteStmt, where_clause))

#define SKIPPED(msgtype, outname) (out->lean && UNREAD(msgtype, outname))
#define SUMMARIZED(msgtype, outname) (out->lean && PRESENCE_ONLY(msgtype, outname))

static inline void
put_empty(Out *out, int field)
{
	end(out, begin(out, field));
}

static void _outNode(Out *out, const void *obj);

#define OUT_NODE(typename, typename_c, typename_underscore, typename_underscore_upcase, typename_cast, fldname) \
	{ \
		size_t __start = begin(out, FIELD(Node, fldname)); \
		_out##typename_c(out, (const typename_cast *) obj); \
		end(out, __start); \
	}

#define WRITE_INT_FIELD(msgtype, outname, outname_json, fldname) put_int(out, FIELD(msgtype, outname), node->fldname);
#define WRITE_UINT_FIELD(msgtype, outname, outname_json, fldname) put_uint(out, FIELD(msgtype, outname), node->fldname);
#define WRITE_UINT64_FIELD(msgtype, outname, outname_json, fldname) put_uint(out, FIELD(msgtype, outname), node->fldname);
#define WRITE_LONG_FIELD(msgtype, outname, outname_json, fldname) put_int(out, FIELD(msgtype, outname), node->fldname);
#define WRITE_FLOAT_FIELD(msgtype, outname, outname_json, fldname) put_double(out, FIELD(msgtype, outname), node->fldname);
#define WRITE_BOOL_FIELD(msgtype, outname, outname_json, fldname) put_uint(out, FIELD(msgtype, outname), node->fldname ? 1 : 0);
#define WRITE_CHAR_FIELD(msgtype, outname, outname_json, fldname) put_char(out, FIELD(msgtype, outname), node->fldname);
#define WRITE_STRING_FIELD(msgtype, outname, outname_json, fldname) \
	if (!SKIPPED(msgtype, outname)) \
		put_string(out, FIELD(msgtype, outname), node->fldname);
#define WRITE_ENUM_FIELD(msgtype, enumtype, outname, outname_json, fldname) \
	put_int(out, FIELD(msgtype, outname), _enumToInt##enumtype(node->fldname));

#define WRITE_LIST_FIELD(msgtype, outname, outname_json, fldname) \
	if (node->fldname == NULL || SKIPPED(msgtype, outname)) \
		; \
	else if (SUMMARIZED(msgtype, outname)) \
		put_empty(out, FIELD(msgtype, outname)); \
	else \
	{ \
		const ListCell *__lc; \
		foreach(__lc, node->fldname) \
		{ \
			size_t __start = begin(out, FIELD(msgtype, outname)); \
			_outNode(out, lfirst(__lc)); \
			end(out, __start); \
		} \
	}

#define WRITE_BITMAPSET_FIELD(msgtype, outname, outname_json, fldname) \
	if (!bms_is_empty(node->fldname)) \
	{ \
		int __x = -1; \
		while ((__x = bms_next_member(node->fldname, __x)) >= 0) \
		{ \
			put_tag(out, FIELD(msgtype, outname), WIRE_VARINT); \
			put_varint(out, (uint64) __x); \
		} \
	}

#define WRITE_NODE_FIELD(msgtype, outname, outname_json, fldname) \
	{ \
		size_t __start = begin(out, FIELD(msgtype, outname)); \
		_outNode(out, &node->fldname); \
		end(out, __start); \
	}

#define WRITE_NODE_PTR_FIELD(msgtype, outname, outname_json, fldname) \
	if (node->fldname == NULL || SKIPPED(msgtype, outname)) \
		; \
	else if (SUMMARIZED(msgtype, outname)) \
		put_empty(out, FIELD(msgtype, outname)); \
	else \
	{ \
		size_t __start = begin(out, FIELD(msgtype, outname)); \
		_outNode(out, node->fldname); \
		end(out, __start); \
	}

#define WRITE_SPECIFIC_NODE_FIELD(msgtype, typename, typename_underscore, outname, outname_json, fldname) \
	{ \
		size_t __start = begin(out, FIELD(msgtype, outname)); \
		_out##typename(out, &node->fldname); \
		end(out, __start); \
	}

#define WRITE_SPECIFIC_NODE_PTR_FIELD(msgtype, typename, typename_underscore, outname, outname_json, fldname) \
	if (node->fldname != NULL && !SKIPPED(msgtype, outname)) \
	{ \
		size_t __start; \
		check_stack_depth(); \
		__start = begin(out, FIELD(msgtype, outname)); \
		_out##typename(out, node->fldname); \
		end(out, __start); \
	}

static void
_outItems(Out *out, int field, const List *node)
{
	const ListCell *lc;

	foreach(lc, node)
	{
		size_t		start = begin(out, field);

		_outNode(out, lfirst(lc));
		end(out, start);
	}
}

static void
_outList(Out *out, const List *node)
{
	_outItems(out, FIELD(List, items), node);
}

static void
_outIntList(Out *out, const List *node)
{
	_outItems(out, FIELD(IntList, items), node);
}

static void
_outOidList(Out *out, const List *node)
{
	_outItems(out, FIELD(OidList, items), node);
}

static void
_outInteger(Out *out, const Integer *node)
{
	put_int(out, FIELD(Integer, ival), node->ival);
}

static void
_outFloat(Out *out, const Float *node)
{
	put_string(out, FIELD(Float, fval), node->fval);
}

static void
_outBoolean(Out *out, const Boolean *node)
{
	put_uint(out, FIELD(Boolean, boolval), node->boolval ? 1 : 0);
}

static void
_outString(Out *out, const String *node)
{
	put_string(out, FIELD(String, sval), node->sval);
}

static void
_outBitString(Out *out, const BitString *node)
{
	put_string(out, FIELD(BitString, bsval), node->bsval);
}

static void
_outAConst(Out *out, const A_Const *node)
{
	size_t		start;

	put_uint(out, FIELD(A_Const, isnull), node->isnull ? 1 : 0);
	put_int(out, FIELD(A_Const, location), node->location);
	if (node->isnull)
		return;
	switch (nodeTag(&node->val.node))
	{
		case T_Integer:
			start = begin(out, FIELD(A_Const, ival));
			_outInteger(out, &node->val.ival);
			end(out, start);
			break;
		case T_Float:
			start = begin(out, FIELD(A_Const, fval));
			_outFloat(out, &node->val.fval);
			end(out, start);
			break;
		case T_Boolean:
			start = begin(out, FIELD(A_Const, boolval));
			_outBoolean(out, &node->val.boolval);
			end(out, start);
			break;
		case T_String:
			start = begin(out, FIELD(A_Const, sval));
			_outString(out, &node->val.sval);
			end(out, start);
			break;
		case T_BitString:
			start = begin(out, FIELD(A_Const, bsval));
			_outBitString(out, &node->val.bsval);
			end(out, start);
			break;
		default:
			break;
	}
}

#include "pg_query_enum_defs.c"
#include "pg_query_outfuncs_defs.c"

static void
_outNode(Out *out, const void *obj)
{
	check_stack_depth();

	if (obj == NULL)
		return;

	switch (nodeTag(obj))
	{
#include "pg_query_outfuncs_conds.c"

		default:
			/* Like libpg_query: a node type without a writer stays an empty Node. */
			return;
	}
}

/* What lockgate_parse returns: a malloc'd protobuf ParseResult, or a malloc'd message. */
typedef struct
{
	unsigned char *data;
	size_t		len;
	char	   *error;
} LockgateParse;

static char *
take_error_message(MemoryContext ctx)
{
	ErrorData  *error_data;
	char	   *message;

	MemoryContextSwitchTo(ctx);
	error_data = CopyErrorData();
	message = strdup(error_data->message);
	FlushErrorState();
	return message;
}

LockgateParse
lockgate_parse(const char *input, bool lean)
{
	LockgateParse result = {0};
	MemoryContext ctx = pg_query_enter_memory_context();
	PgQueryInternalParsetreeAndError parsed = pg_query_raw_parse(input, PG_QUERY_PARSE_DEFAULT);
	Out			out = {.lean = lean};

	free(parsed.stderr_buffer);
	if (parsed.error != NULL)
	{
		result.error = strdup(parsed.error->message);
		pg_query_free_error(parsed.error);
		pg_query_exit_memory_context(ctx);
		return result;
	}

	PG_TRY();
	{
		const ListCell *lc;

		put_int(&out, FIELD(ParseResult, version), PG_VERSION_NUM);
		foreach(lc, parsed.tree)
		{
			size_t		start = begin(&out, FIELD(ParseResult, stmts));

			_outRawStmt(&out, lfirst(lc));
			end(&out, start);
		}
		result.data = out.data;
		result.len = out.len;
	}
	PG_CATCH();
	{
		free(out.data);
		result.error = take_error_message(ctx);
	}
	PG_END_TRY();

	pg_query_exit_memory_context(ctx);
	return result;
}

void
lockgate_parse_free(LockgateParse result)
{
	free(result.data);
	free(result.error);
}
