
/*
 * Copyright (C) ngx_dashboards authors
 *
 * Request body validation, field by field, from declarative tables: types,
 * null, blank, lengths and choices, with Django REST framework's messages
 * and an "attr" path (tiles__0__color).  Values are normalised the way DRF
 * coerces them ("true" -> true, "5" -> 5, 5 -> "5" for strings), and only
 * the declared fields are kept: that is what reaches PostgreSQL.
 */


#include "ngx_http_dashboards_module.h"

#include <stdio.h>


static ngx_int_t ngx_http_dashboards_validate_object(ngx_http_request_t *r,
    cJSON *in, const ngx_http_dashboards_field_t *fields, ngx_str_t *prefix,
    cJSON *out, ngx_http_dashboards_verr_t *err);
static ngx_int_t ngx_http_dashboards_validate_value(ngx_http_request_t *r,
    cJSON *item, const ngx_http_dashboards_field_t *f, ngx_str_t *path,
    cJSON **out, ngx_http_dashboards_verr_t *err);
static ngx_int_t ngx_http_dashboards_string(ngx_http_request_t *r,
    cJSON *item, const ngx_http_dashboards_field_t *f, ngx_str_t *path,
    cJSON **out, ngx_http_dashboards_verr_t *err);
static ngx_int_t ngx_http_dashboards_integer(ngx_http_request_t *r,
    cJSON *item, const ngx_http_dashboards_field_t *f, ngx_str_t *path,
    cJSON **out, ngx_http_dashboards_verr_t *err);
static ngx_int_t ngx_http_dashboards_boolean(cJSON *item, cJSON **out);
static ngx_int_t ngx_http_dashboards_as_sent(ngx_http_request_t *r,
    cJSON *item, ngx_str_t *path, cJSON **out,
    ngx_http_dashboards_verr_t *err);

static ngx_int_t ngx_http_dashboards_datetime(u_char *p, size_t len);
static ngx_int_t ngx_http_dashboards_uuid(u_char *src, size_t len,
    u_char *dst);
static ngx_uint_t ngx_http_dashboards_truthy(cJSON *item);
static const char *ngx_http_dashboards_type_name(cJSON *item);
static ngx_int_t ngx_http_dashboards_path(ngx_http_request_t *r,
    ngx_str_t *prefix, const char *name, ngx_int_t index, ngx_str_t *path);
static void ngx_http_dashboards_validate_cleanup(void *data);


ngx_int_t
ngx_http_dashboards_validate(ngx_http_request_t *r, cJSON *in,
    const ngx_http_dashboards_field_t *fields, cJSON **out,
    ngx_http_dashboards_verr_t *err)
{
    cJSON               *obj;
    ngx_int_t            rc;
    ngx_pool_cleanup_t  *cln;

    if (in && !cJSON_IsObject(in)) {
        return ngx_http_dashboards_verr(r, err, "invalid_input", NULL,
                                        "Invalid data. Expected a "
                                        "dictionary, but got %s.",
                                        ngx_http_dashboards_type_name(in));
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    obj = cJSON_CreateObject();
    if (obj == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_dashboards_validate_cleanup;
    cln->data = obj;

    if (in) {
        rc = ngx_http_dashboards_validate_object(r, in, fields, NULL, obj,
                                                 err);
        if (rc != NGX_OK) {
            return rc;
        }

    } else {
        for ( /* void */ ; fields->name; fields++) {
            if (fields->flags & NGX_HTTP_DASHBOARDS_F_REQUIRED) {
                return ngx_http_dashboards_verr(r, err, "required", NULL,
                                                "This field is required.");
            }
        }
    }

    *out = obj;

    return NGX_OK;
}


/*
 * the validated body as a statement parameter: NGX_OK; NGX_DECLINED with
 * err set (the caller answers with ngx_http_dashboards_send_verr()), or
 * NGX_ERROR
 */

ngx_int_t
ngx_http_dashboards_body_param(ngx_http_request_t *r,
    ngx_http_dashboards_ctx_t *ctx, const ngx_http_dashboards_field_t *fields,
    const char **param, ngx_http_dashboards_verr_t *err)
{
    char       *text;
    cJSON      *out;
    size_t      len;
    ngx_int_t   rc;

    rc = ngx_http_dashboards_validate(r, ctx->body, fields, &out, err);

    if (rc != NGX_OK) {
        return rc;
    }

    text = ngx_http_dashboards_print(r, out, &len);
    if (text == NULL) {
        return NGX_ERROR;
    }

    *param = text;

    return NGX_OK;
}


ngx_int_t
ngx_http_dashboards_send_verr(ngx_http_request_t *r,
    ngx_http_dashboards_verr_t *err)
{
    return ngx_http_dashboards_send_error(r, NGX_HTTP_BAD_REQUEST,
                                          "validation_error", err->code,
                                          &err->detail,
                                          (const char *) err->attr);
}


static ngx_int_t
ngx_http_dashboards_validate_object(ngx_http_request_t *r, cJSON *in,
    const ngx_http_dashboards_field_t *fields, ngx_str_t *prefix,
    cJSON *out, ngx_http_dashboards_verr_t *err)
{
    cJSON                              *item, *value;
    ngx_int_t                           rc;
    ngx_str_t                           path;
    const ngx_http_dashboards_field_t  *f;

    for (f = fields; f->name; f++) {

        item = cJSON_GetObjectItemCaseSensitive(in, f->name);

        if (ngx_http_dashboards_path(r, prefix, f->name, -1, &path)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (item == NULL) {
            if (f->flags & NGX_HTTP_DASHBOARDS_F_REQUIRED) {
                return ngx_http_dashboards_verr(r, err, "required", &path,
                                                "This field is required.");
            }

            continue;
        }

        value = NULL;

        rc = ngx_http_dashboards_validate_value(r, item, f, &path, &value,
                                                err);
        if (rc != NGX_OK) {
            if (value) {
                cJSON_Delete(value);
            }

            return rc;
        }

        if (value) {
            cJSON_AddItemToObject(out, f->name, value);
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_dashboards_validate_value(ngx_http_request_t *r, cJSON *item,
    const ngx_http_dashboards_field_t *f, ngx_str_t *path, cJSON **out,
    ngx_http_dashboards_verr_t *err)
{
    int         n;
    cJSON      *el, *v, *arr;
    ngx_int_t   rc, i;
    ngx_str_t   epath;
    u_char      uuid[37];

    if (f->type == NGX_HTTP_DASHBOARDS_T_FILTERS) {
        if (!ngx_http_dashboards_truthy(item)) {
            return NGX_OK;
        }

        if (!cJSON_IsObject(item)) {
            return ngx_http_dashboards_verr(r, err, "invalid_input", NULL,
                                            "%s", f->message);
        }

        return ngx_http_dashboards_as_sent(r, item, path, out, err);
    }

    if (f->type == NGX_HTTP_DASHBOARDS_T_TRUTHY) {
        *out = cJSON_CreateBool(ngx_http_dashboards_truthy(item));
        return *out ? NGX_OK : NGX_ERROR;
    }

    if (cJSON_IsNull(item)) {
        if (f->flags & NGX_HTTP_DASHBOARDS_F_NULL) {
            *out = cJSON_CreateNull();
            return *out ? NGX_OK : NGX_ERROR;
        }

        return ngx_http_dashboards_verr(r, err, "null", path,
                                        "This field may not be null.");
    }

    switch (f->type) {

    case NGX_HTTP_DASHBOARDS_T_STRING:
        return ngx_http_dashboards_string(r, item, f, path, out, err);

    case NGX_HTTP_DASHBOARDS_T_INT:
        return ngx_http_dashboards_integer(r, item, f, path, out, err);

    case NGX_HTTP_DASHBOARDS_T_BOOL:
        if (ngx_http_dashboards_boolean(item, out) != NGX_OK) {
            return ngx_http_dashboards_verr(r, err, "invalid_input", path,
                                            "Must be a valid boolean.");
        }

        return *out ? NGX_OK : NGX_ERROR;

    case NGX_HTTP_DASHBOARDS_T_DATETIME:
        if (!cJSON_IsString(item)
            || ngx_http_dashboards_datetime((u_char *) item->valuestring,
                                            ngx_strlen(item->valuestring))
               != NGX_OK)
        {
            return ngx_http_dashboards_verr(r, err, "invalid_input", path,
                       "Datetime has wrong format. Use one of these formats "
                       "instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM"
                       "|Z].");
        }

        *out = cJSON_CreateString(item->valuestring);
        return *out ? NGX_OK : NGX_ERROR;

    case NGX_HTTP_DASHBOARDS_T_ANY:
        return ngx_http_dashboards_as_sent(r, item, path, out, err);

    case NGX_HTTP_DASHBOARDS_T_DICT:
        if (!cJSON_IsObject(item)) {
            if (f->message) {
                return ngx_http_dashboards_verr(r, err, "invalid_input",
                                                path, "%s", f->message);
            }

            return ngx_http_dashboards_verr(r, err, "not_a_dict", path,
                                            "Expected a dictionary of items "
                                            "but got type \"%s\".",
                                            ngx_http_dashboards_type_name(
                                                item));
        }

        if (f->max_items
            && (ngx_uint_t) cJSON_GetArraySize(item) > f->max_items)
        {
            return ngx_http_dashboards_verr(r, err, "max_length", path,
                                            "Ensure this field has no more "
                                            "than %ui keys.", f->max_items);
        }

        return ngx_http_dashboards_as_sent(r, item, path, out, err);

    case NGX_HTTP_DASHBOARDS_T_OBJECT:
        if (!cJSON_IsObject(item)) {
            /* a nested serializer reports its own non-field error */

            if (ngx_http_dashboards_path(r, path, "non_field_errors", -1,
                                         &epath)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            return ngx_http_dashboards_verr(r, err, "invalid_input", &epath,
                                            "Invalid data. Expected a "
                                            "dictionary, but got %s.",
                                            ngx_http_dashboards_type_name(
                                                item));
        }

        *out = cJSON_CreateObject();
        if (*out == NULL) {
            return NGX_ERROR;
        }

        return ngx_http_dashboards_validate_object(r, item, f->children,
                                                   path, *out, err);

    default: /* the list types */
        break;
    }

    if (!cJSON_IsArray(item)) {
        return ngx_http_dashboards_verr(r, err, "not_a_list", path,
                                        "Expected a list of items but got "
                                        "type \"%s\".",
                                        ngx_http_dashboards_type_name(item));
    }

    n = cJSON_GetArraySize(item);

    if (f->min_items && (ngx_uint_t) n < f->min_items) {
        return ngx_http_dashboards_verr(r, err, "min_length", path,
                                        "Ensure this field has at least %ui "
                                        "elements.", f->min_items);
    }

    if (f->max_items && (ngx_uint_t) n > f->max_items) {
        return ngx_http_dashboards_verr(r, err, "max_length", path,
                                        "Ensure this field has no more than "
                                        "%ui elements.", f->max_items);
    }

    arr = cJSON_CreateArray();
    if (arr == NULL) {
        return NGX_ERROR;
    }

    *out = arr;
    i = 0;

    cJSON_ArrayForEach(el, item) {

        if (ngx_http_dashboards_path(r, path, NULL, i, &epath) != NGX_OK) {
            return NGX_ERROR;
        }

        v = NULL;

        switch (f->type) {

        case NGX_HTTP_DASHBOARDS_T_OBJECTS:
            if (!cJSON_IsObject(el)) {
                return ngx_http_dashboards_verr(r, err, "invalid_input",
                                                &epath, "Invalid data. "
                                                "Expected a dictionary, but "
                                                "got %s.",
                                                ngx_http_dashboards_type_name(
                                                    el));
            }

            v = cJSON_CreateObject();
            if (v == NULL) {
                return NGX_ERROR;
            }

            cJSON_AddItemToArray(arr, v);

            rc = ngx_http_dashboards_validate_object(r, el, f->children,
                                                     &epath, v, err);
            break;

        case NGX_HTTP_DASHBOARDS_T_UUIDS:
            if (cJSON_IsNumber(el)) {
                /* a list of strings turns 5 into "5" first */
                rc = ngx_http_dashboards_string(r, el, f, &epath, &v, err);
                if (rc != NGX_OK) {
                    return rc;
                }

                cJSON_AddItemToArray(arr, v);

                return ngx_http_dashboards_verr(r, err, "invalid_input",
                                                path, "Invalid UUID: %s",
                                                v->valuestring);
            }

            if (!cJSON_IsString(el)
                || ngx_http_dashboards_uuid((u_char *) el->valuestring,
                                            ngx_strlen(el->valuestring),
                                            uuid)
                   != NGX_OK)
            {
                return ngx_http_dashboards_verr(r, err, "invalid_input",
                                                path, "Invalid UUID: %s",
                                                cJSON_IsString(el)
                                                ? el->valuestring : "");
            }

            v = cJSON_CreateString((const char *) uuid);
            if (v == NULL) {
                return NGX_ERROR;
            }

            cJSON_AddItemToArray(arr, v);
            rc = NGX_OK;
            break;

        case NGX_HTTP_DASHBOARDS_T_INTS:
            rc = ngx_http_dashboards_integer(r, el, f, &epath, &v, err);
            if (v) {
                cJSON_AddItemToArray(arr, v);
            }

            break;

        default: /* NGX_HTTP_DASHBOARDS_T_STRINGS */
            rc = ngx_http_dashboards_string(r, el, f, &epath, &v, err);
            if (v) {
                cJSON_AddItemToArray(arr, v);
            }

            break;
        }

        if (rc != NGX_OK) {
            return rc;
        }

        i++;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_dashboards_string(ngx_http_request_t *r, cJSON *item,
    const ngx_http_dashboards_field_t *f, ngx_str_t *path, cJSON **out,
    ngx_http_dashboards_verr_t *err)
{
    u_char             *p, *last, *s;
    size_t              n;
    uint32_t            cp;
    ngx_str_t           text;
    const char *const  *c;
    u_char              num[64];

    if (cJSON_IsString(item)) {
        p = (u_char *) item->valuestring;
        last = p + ngx_strlen(p);

    } else if (cJSON_IsNumber(item)) {
        /* DRF's CharField stores str(value): 1.0 -> "1.0", 0.1 -> "0.1" */

        if (ngx_http_dashboards_number_text(item, num, sizeof(num), &text)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        p = text.data;
        last = p + text.len;

    } else {
        return ngx_http_dashboards_verr(r, err, "invalid_input", path,
                                        "Not a valid string.");
    }

    if (!(f->flags & NGX_HTTP_DASHBOARDS_F_NOTRIM)) {
        while (p < last && (*p == ' ' || *p == '\t' || *p == '\n'
                            || *p == '\r' || *p == '\f' || *p == '\v'))
        {
            p++;
        }

        while (last > p && (last[-1] == ' ' || last[-1] == '\t'
                            || last[-1] == '\n' || last[-1] == '\r'
                            || last[-1] == '\f' || last[-1] == '\v'))
        {
            last--;
        }
    }

    if (p == last && !(f->flags & NGX_HTTP_DASHBOARDS_F_BLANK)) {
        return ngx_http_dashboards_verr(r, err, "blank", path,
                                        "This field may not be blank.");
    }

    if (f->max_len) {
        n = 0;

        for (s = p; s < last; s++) {
            if ((*s & 0xc0) != 0x80) {
                n++;
            }
        }

        if (n > f->max_len) {
            if (f->message) {
                return ngx_http_dashboards_verr(r, err, "max_length", path,
                                                "%s", f->message);
            }

            return ngx_http_dashboards_verr(r, err, "max_length", path,
                                            "Ensure this field has no more "
                                            "than %uz characters.",
                                            f->max_len);
        }
    }

    /*
     * DRF's CharField validators after the length: Django's
     * ProhibitNullCharactersValidator, then DRF's
     * ProhibitSurrogateCharactersValidator; choice fields have neither
     */

    if (f->strings == NULL) {
        switch (ngx_http_dashboards_bad_char(p, last - p, &cp)) {

        case 1:
            return ngx_http_dashboards_verr(r, err,
                                            "null_characters_not_allowed",
                                            path, "Null characters are not "
                                            "allowed.");

        case 2:
            return ngx_http_dashboards_verr(r, err,
                                            "surrogate_characters_not_allowed",
                                            path, "Surrogate characters are "
                                            "not allowed: U+%XD.", cp);
        }
    }

    s = ngx_pnalloc(r->pool, last - p + 1);
    if (s == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(s, p, last - p);
    s[last - p] = '\0';

    if (f->strings) {
        for (c = f->strings; *c; c++) {
            if (ngx_strcmp(*c, s) == 0) {
                break;
            }
        }

        if (*c == NULL) {
            return ngx_http_dashboards_verr(r, err, "invalid_choice", path,
                                            "\"%s\" is not a valid choice.",
                                            s);
        }
    }

    *out = cJSON_CreateString((const char *) s);

    return *out ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_http_dashboards_integer(ngx_http_request_t *r, cJSON *item,
    const ngx_http_dashboards_field_t *f, ngx_str_t *path, cJSON **out,
    ngx_http_dashboards_verr_t *err)
{
    u_char           *p, *last;
    int64_t           v;
    ngx_str_t         text;
    ngx_uint_t        neg, digits, big;
    const ngx_int_t  *c;
    u_char            num[64];

    /*
     * DRF's IntegerField: int(str(value)) once a trailing ".0" is gone;
     * a number is read through Python's str() too, so 1e2 ("100.0") is
     * 100, 1e16 ("1e+16") and 1e999 ("inf") are not integers, and an
     * integer of any length is compared exactly
     */

    if (cJSON_IsNumber(item)) {
        if (ngx_http_dashboards_number_text(item, num, sizeof(num), &text)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        p = text.data;
        last = p + text.len;

    } else if (cJSON_IsString(item)) {
        p = (u_char *) item->valuestring;
        last = p + ngx_strlen(p);

    } else {
        goto invalid;
    }

    while (p < last && *p == ' ') {
        p++;
    }

    while (last > p && last[-1] == ' ') {
        last--;
    }

    neg = 0;

    if (p < last && (*p == '-' || *p == '+')) {
        neg = (*p == '-');
        p++;
    }

    v = 0;
    digits = 0;
    big = 0;

    while (p < last && *p >= '0' && *p <= '9') {
        if (v > 100000000000000000LL) {
            big = 1;

        } else {
            v = v * 10 + (*p - '0');
        }

        p++;
        digits++;
    }

    /* DRF accepts "5.0" */

    if (p < last && *p == '.') {
        p++;

        while (p < last && *p == '0') {
            p++;
        }
    }

    if (p != last || digits == 0) {
        goto invalid;
    }

    if (big) {
        v = 100000000000000000LL;
    }

    if (neg) {
        v = -v;
    }

    if (v > 2147483647) {
        return ngx_http_dashboards_verr(r, err, "max_value", path,
                                        "Ensure this value is less than or "
                                        "equal to 2147483647.");
    }

    if (v < -2147483648LL) {
        return ngx_http_dashboards_verr(r, err, "min_value", path,
                                        "Ensure this value is greater than "
                                        "or equal to -2147483648.");
    }

    if (f->choices) {
        for (c = f->choices; *c; c++) {
            if (*c == v) {
                break;
            }
        }

        if (*c == 0) {
            return ngx_http_dashboards_verr(r, err, "invalid_choice", path,
                                            "\"%L\" is not a valid choice.",
                                            v);
        }
    }

    *out = cJSON_CreateNumber((double) v);

    return *out ? NGX_OK : NGX_ERROR;

invalid:

    if (f->choices) {
        if (cJSON_IsString(item)) {
            return ngx_http_dashboards_verr(r, err, "invalid_choice", path,
                                            "\"%s\" is not a valid choice.",
                                            item->valuestring);
        }

        return ngx_http_dashboards_verr(r, err, "invalid_choice", path,
                                        "\"%s\" is not a valid choice.",
                                        ngx_http_dashboards_type_name(item));
    }

    return ngx_http_dashboards_verr(r, err, "invalid_input", path,
                                    "A valid integer is required.");
}


/*
 * a JSON value stored as sent (PostHog's JSONField): numbers as the client
 * wrote them; U+0000 and lone surrogates are refused with the messages of
 * DRF's string fields, as PostgreSQL's jsonb cannot hold them (PostHog
 * answers 500 there)
 */

static ngx_int_t
ngx_http_dashboards_as_sent(ngx_http_request_t *r, cJSON *item,
    ngx_str_t *path, cJSON **out, ngx_http_dashboards_verr_t *err)
{
    uint32_t  cp;

    switch (ngx_http_dashboards_json_bad(item, &cp)) {

    case 1:
        return ngx_http_dashboards_verr(r, err, "null_characters_not_allowed",
                                        path, "Null characters are not "
                                        "allowed.");

    case 2:
        return ngx_http_dashboards_verr(r, err,
                                        "surrogate_characters_not_allowed",
                                        path, "Surrogate characters are not "
                                        "allowed: U+%XD.", cp);
    }

    *out = cJSON_Duplicate(item, 1);
    if (*out == NULL) {
        return NGX_ERROR;
    }

    ngx_http_dashboards_json_raw_numbers(*out);

    return NGX_OK;
}


/* 1: a value DRF reads as false (true, null or not a boolean: 0) */

ngx_int_t
ngx_http_dashboards_is_false(cJSON *item)
{
    ngx_int_t   rc;
    cJSON      *v;

    v = NULL;

    rc = ngx_http_dashboards_boolean(item, &v);

    if (rc != NGX_OK || v == NULL) {
        return 0;
    }

    rc = cJSON_IsFalse(v);
    cJSON_Delete(v);

    return rc;
}


static ngx_int_t
ngx_http_dashboards_boolean(cJSON *item, cJSON **out)
{
    size_t       len;
    ngx_uint_t   i;
    const char  *s;

    /* DRF's BooleanField TRUE_VALUES and FALSE_VALUES */

    static const char  *yes[] = { "true", "True", "TRUE", "on", "On", "ON",
                                  "yes", "Yes", "YES", "y", "Y", "t", "T",
                                  "1", NULL };
    static const char  *no[] = { "false", "False", "FALSE", "off", "Off",
                                 "OFF", "no", "No", "NO", "n", "N", "f", "F",
                                 "0", NULL };

    if (cJSON_IsBool(item)) {
        *out = cJSON_CreateBool(cJSON_IsTrue(item));
        return NGX_OK;
    }

    if (cJSON_IsNumber(item)) {
        if (item->valuedouble == 1) {
            *out = cJSON_CreateTrue();
            return NGX_OK;
        }

        if (item->valuedouble == 0) {
            *out = cJSON_CreateFalse();
            return NGX_OK;
        }

        return NGX_DECLINED;
    }

    if (!cJSON_IsString(item)) {
        return NGX_DECLINED;
    }

    s = item->valuestring;
    len = ngx_strlen(s);

    for (i = 0; yes[i]; i++) {
        if (ngx_strlen(yes[i]) == len && ngx_strcmp(yes[i], s) == 0) {
            *out = cJSON_CreateTrue();
            return NGX_OK;
        }
    }

    for (i = 0; no[i]; i++) {
        if (ngx_strlen(no[i]) == len && ngx_strcmp(no[i], s) == 0) {
            *out = cJSON_CreateFalse();
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/* YYYY-MM-DD[(T| )hh:mm[:ss[.f+]]][Z|(+|-)hh[:]mm] */

static ngx_int_t
ngx_http_dashboards_datetime(u_char *p, size_t len)
{
    u_char      *last;
    ngx_uint_t   i;

#define digits(n)                                                             \
    for (i = 0; i < n; i++) {                                                 \
        if (p >= last || *p < '0' || *p > '9') {                              \
            return NGX_DECLINED;                                              \
        }                                                                     \
        p++;                                                                  \
    }

#define expect(ch)                                                            \
    if (p >= last || *p != ch) {                                              \
        return NGX_DECLINED;                                                  \
    }                                                                         \
    p++;

    last = p + len;

    digits(4); expect('-'); digits(2); expect('-'); digits(2);

    if (p == last) {
        return NGX_OK;
    }

    if (*p != 'T' && *p != 't' && *p != ' ') {
        return NGX_DECLINED;
    }

    p++;

    digits(2); expect(':'); digits(2);

    if (p < last && *p == ':') {
        p++;
        digits(2);

        if (p < last && (*p == '.' || *p == ',')) {
            p++;
            digits(1);

            while (p < last && *p >= '0' && *p <= '9') {
                p++;
            }
        }
    }

    if (p == last) {
        return NGX_OK;
    }

    if (*p == 'Z' || *p == 'z') {
        return (p + 1 == last) ? NGX_OK : NGX_DECLINED;
    }

    if (*p != '+' && *p != '-') {
        return NGX_DECLINED;
    }

    p++;
    digits(2);

    if (p < last && *p == ':') {
        p++;
    }

    if (p < last) {
        digits(2);
    }

    return (p == last) ? NGX_OK : NGX_DECLINED;

#undef digits
#undef expect
}


/* a UUID in any of Python's accepted spellings -> canonical lower case */

static ngx_int_t
ngx_http_dashboards_uuid(u_char *src, size_t len, u_char *dst)
{
    u_char      *last, c;
    ngx_uint_t   n;

    last = src + len;

    if (len && *src == '{' && last[-1] == '}') {
        src++;
        last--;
    }

    if (last - src > 9 && ngx_strncasecmp(src, (u_char *) "urn:uuid:", 9)
                          == 0)
    {
        src += 9;
    }

    n = 0;

    for ( /* void */ ; src < last; src++) {
        c = ngx_tolower(*src);

        if (c == '-') {
            continue;
        }

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) || n == 32) {
            return NGX_DECLINED;
        }

        if (n == 8 || n == 12 || n == 16 || n == 20) {
            *dst++ = '-';
        }

        *dst++ = c;
        n++;
    }

    *dst = '\0';

    return (n == 32) ? NGX_OK : NGX_DECLINED;
}


static ngx_uint_t
ngx_http_dashboards_truthy(cJSON *item)
{
    if (cJSON_IsNull(item) || cJSON_IsFalse(item)) {
        return 0;
    }

    if (cJSON_IsNumber(item)) {
        return item->valuedouble != 0;
    }

    if (cJSON_IsString(item)) {
        return item->valuestring[0] != '\0';
    }

    if (cJSON_IsArray(item) || cJSON_IsObject(item)) {
        return item->child != NULL;
    }

    return 1;
}


static const char *
ngx_http_dashboards_type_name(cJSON *item)
{
    if (cJSON_IsObject(item)) {
        return "dict";
    }

    if (cJSON_IsArray(item)) {
        return "list";
    }

    if (cJSON_IsString(item)) {
        return "str";
    }

    if (cJSON_IsBool(item)) {
        return "bool";
    }

    if (cJSON_IsNumber(item)) {
        /* Python's json makes a float of any number with '.', 'e', 'E' */

        if (item->valuestring) {
            return strpbrk(item->valuestring, ".eE") ? "float" : "int";
        }

        return (item->valuedouble > -9e18 && item->valuedouble < 9e18
                && item->valuedouble == (double) (int64_t) item->valuedouble)
               ? "int" : "float";
    }

    return "NoneType";
}


static ngx_int_t
ngx_http_dashboards_path(ngx_http_request_t *r, ngx_str_t *prefix,
    const char *name, ngx_int_t index, ngx_str_t *path)
{
    u_char  *p;
    size_t   len;

    len = (prefix ? prefix->len + 2 : 0)
          + (name ? ngx_strlen(name) : NGX_INT_T_LEN) + 1;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    path->data = p;

    if (prefix) {
        p = ngx_cpymem(p, prefix->data, prefix->len);
        *p++ = '_';
        *p++ = '_';
    }

    if (name) {
        p = ngx_cpymem(p, name, ngx_strlen(name));

    } else {
        p = ngx_sprintf(p, "%i", index);
    }

    path->len = p - path->data;
    *p = '\0';

    return NGX_OK;
}


ngx_int_t
ngx_http_dashboards_verr(ngx_http_request_t *r,
    ngx_http_dashboards_verr_t *err, const char *code, ngx_str_t *attr,
    const char *fmt, ...)
{
    u_char   *p, *last;
    size_t    size;
    va_list   args;

    /*
     * the whole message, however long what it quotes; a buffer it fills
     * may have cut it, so that one is tried again twice as large
     */

    for (size = 512; /* void */ ; size *= 2) {
        p = ngx_pnalloc(r->pool, size);
        if (p == NULL) {
            return NGX_ERROR;
        }

        va_start(args, fmt);
        last = ngx_vslprintf(p, p + size, fmt, args);
        va_end(args);

        if (last < p + size) {
            break;
        }
    }

    err->detail.data = p;
    err->detail.len = last - p;
    err->code = code;
    err->attr = attr ? attr->data : NULL;

    return NGX_DECLINED;
}


static void
ngx_http_dashboards_validate_cleanup(void *data)
{
    cJSON_Delete(data);
}
