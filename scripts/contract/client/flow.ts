// A short typed client flow against the generated types (openapi-typescript): it must compile
// with `tsc --strict`, so the document has to type what a frontend reads and sends.
// login → me → find own assessment → put one answer with typed inputs → read the score →
// read a public snapshot.
import type { components, paths } from "./api";

type Schemas = components["schemas"];
type Ok<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
    responses: { 200: { content: { "application/json": infer T } } };
}
    ? T
    : never;

async function call<T>(base: string, path: string, init: RequestInit = {}, token?: string): Promise<T> {
    const headers = new Headers(init.headers);
    headers.set("accept", "application/json");
    if (token) headers.set("authorization", `Bearer ${token}`);
    const resp = await fetch(base + path, { ...init, headers });
    if (!resp.ok) {
        const problem = (await resp.json()) as Schemas["Problem"];
        // `code` is the catalogue's enum: a switch over it is checked
        const code: Schemas["Problem"]["code"] = problem.code;
        throw new Error(`${resp.status} ${code}: ${problem.detail}`);
    }
    return (await resp.json()) as T;
}

export async function flow(base: string, username: string, password: string): Promise<string> {
    const login: Schemas["LoginRequest"] = { username, password };
    const session = await call<Ok<"/api/v1/auth/login", "post">>(base, "/api/v1/auth/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(login),
    });
    const token: string = session.access_token;

    const me = await call<Ok<"/api/v1/me", "get">>(base, "/api/v1/me", {}, token);
    const unitCode: string | undefined = me.unit?.code;
    const role: Schemas["Role"] = me.role;

    const periods = await call<Ok<"/api/v1/periods", "get">>(base, "/api/v1/periods", {}, token);
    const open = periods.items.find((p) => p.phase === "self_assessment");
    if (!open) throw new Error("no period in self-assessment");
    const assessments = await call<Ok<"/api/v1/periods/{id}/assessments", "get">>(
        base,
        `/api/v1/periods/${open.id}/assessments`,
        {},
        token,
    );
    const own = assessments.find((a) => a.unit.code === unitCode);
    if (!own) throw new Error(`no assessment of ${unitCode} (${role})`);
    const state: Schemas["AssessmentState"] = own.state;

    const set = await call<Ok<"/api/v1/indicator-sets/{id}", "get">>(
        base,
        `/api/v1/indicator-sets/${own.indicator_set_id}?view=flat`,
        {},
        token,
    );
    const leaf = (set.nodes ?? []).find((n) => n.input_schema?.["x-method"] === "boolean") ?? (set.nodes ?? [])[0];
    if (!leaf) throw new Error("a set without nodes");
    const inputs: Schemas["AnswerInputs"] = { value: true };
    const answer: Schemas["AnswerRequest"] = { inputs, note: `typed client (${state})` };
    const written = await call<Ok<"/api/v1/assessments/{id}/answers/{node_code}", "put">>(
        base,
        `/api/v1/assessments/${own.id}/answers/${encodeURIComponent(leaf.code)}`,
        { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(answer) },
        token,
    );
    const back: Schemas["AnswerInputs"] | null | undefined = written.answer.inputs;

    const score = await call<Ok<"/api/v1/assessments/{id}/score", "get">>(
        base,
        `/api/v1/assessments/${own.id}/score`,
        {},
        token,
    );
    const points: string = score.total.self_points;

    const published = await call<Ok<"/api/v1/public/periods", "get">>(base, "/api/v1/public/periods");
    const first = published[0];
    let snapshot = "";
    if (first) {
        const group = first.groups[0]?.code ?? "";
        const rankings = await call<Ok<"/api/v1/public/periods/{id}/rankings", "get">>(
            base,
            `/api/v1/public/periods/${first.id}/rankings?group=${encodeURIComponent(group)}`,
        );
        snapshot = `${rankings.group_code} v${rankings.version} ${rankings.checksum}`;
    }
    return `${me.username}: ${JSON.stringify(back)} → ${points}; ${snapshot}`;
}
