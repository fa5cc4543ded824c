#include "../../src/common/format.h"
#include "harness.h"

#include <stdlib.h>

static char *render(const char *t, const char *json)
{
        json_t *v = json_loads(json, 0, NULL);
        char *out = NULL;
        struct err *e = NULL;
        if (format_render(t, v, &out, &e) < 0) {
                out = NULL;
                err_free(&e);
        }
        json_decref(v);
        return out;
}

static void test_fields(void)
{
        char *s = render("id={{.Id}} cmd={{.Config.Cmd}} n={{.Size}} x={{.Missing.Deeper}}",
                         "{\"Id\":\"sha256:ab\",\"Config\":{\"Cmd\":[\"sh\",\"-c\"]},\"Size\":12}");
        CHECK_STR(s, "id=sha256:ab cmd=[sh -c] n=12 x=<no value>");
        free(s);
}

static void test_json_and_index(void)
{
        char *s = render("{{json .Config}}|{{index .RepoTags 1}}|{{index .Labels \"a b\"}}",
                         "{\"Config\":{\"Env\":[\"A=1\"]},\"RepoTags\":[\"x\",\"y\"],"
                         "\"Labels\":{\"a b\":\"v\"}}");
        CHECK_STR(s, "{\"Env\":[\"A=1\"]}|y|v");
        free(s);
        s = render("{{.}}", "{\"k\":true}");
        CHECK_STR(s, "map[k:true]");
        free(s);
}

static void test_errors(void)
{
        CHECK(render("{{.Id", "{}") == NULL);
        CHECK(render("{{range .X}}{{end}}", "{}") == NULL);
        CHECK(render("{{}}", "{}") == NULL);
        char *s = render("no actions", "{}");
        CHECK_STR(s, "no actions");
        free(s);
}

int main(void)
{
        RUN(test_fields);
        RUN(test_json_and_index);
        RUN(test_errors);
        return DONE();
}
