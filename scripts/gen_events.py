"""Writes events/<route>.json: one API Gateway (HTTP API, payload 2.0) event per HttpApi route of
template.yaml, for `cargo lambda invoke --data-file`. Placeholders in <angle brackets> stand for
ids and tokens. Run with the project's venv: .venv/bin/python scripts/gen_events.py"""

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = ("/register/", "/login/", "/refresh/", "/plans/", "/industries/", "/seed-keywords/", "/api/schema/", "/api/docs/", "/api/redoc/", "/system/ping/", "/system/status/")
# Path parameters that must name something real for the event to be answered 200.
PARAMS = {"file": "swagger-ui.css"}
SAMPLES = {
    ("POST", "/api/v1/auth/register/"): {"email": "owner@example.com", "password": "change-me-please", "first_name": "Ada", "plan_id": "starter"},
    ("POST", "/api/v1/auth/login/"): {"email": "owner@example.com", "password": "change-me-please"},
    ("POST", "/api/v1/auth/refresh/"): {"refresh": "<refresh token from auth-login>"},
    ("POST", "/api/v1/auth/change-password/"): {"old_password": "change-me-please", "new_password": "a-better-passphrase"},
    ("POST", "/api/v1/auth/users/"): {"email": "editor@example.com", "password": "editor-passphrase", "role": "editor"},
    ("POST", "/api/v1/auth/users/invite/"): {"email": "viewer@example.com", "role": "viewer"},
    ("POST", "/api/v1/auth/users/{id}/activate/"): {"password": "viewer-passphrase"},
    ("POST", "/api/v1/auth/sites/"): {"name": "My Blog", "domain": "blog.example.com", "industry_id": "healthcare"},
    ("POST", "/api/v1/auth/sites/{id}/select_sectors/"): {"industry_id": "healthcare", "sector_ids": ["healthcare--dental-care"]},
    ("POST", "/api/v1/auth/sectors/"): {"site_id": "<site id>", "name": "Dental implants"},
    ("POST", "/api/v1/auth/site-access/"): {"user_id": "<editor user id>", "site_id": "<site id>"},
    ("POST", "/api/v1/auth/subscriptions/"): {"plan_id": "growth"},
    ("POST", "/api/v1/auth/accounts/"): {"email": "new-owner@example.com", "password": "change-me-please"},
    ("POST", "/api/v1/account/team/"): {"email": "admin@example.com", "password": "admin-passphrase", "role": "admin"},
    ("PATCH", "/api/v1/account/settings/"): {"timezone": "Europe/Berlin", "language": "de"},
    ("PUT", "/api/v1/system/settings/integrations/{pk}/"): {"apiKey": "<provider api key>", "config": {"model": "gpt-4o-mini", "max_tokens": 4000, "temperature": 0.7}},
    ("POST", "/api/v1/system/settings/integrations/{pk}/save/"): {"config": {"model": "gpt-4o-mini"}},
    ("POST", "/api/v1/system/prompts/save/"): {"prompt_type": "clustering", "prompt_value": "Group the keywords..."},
    ("POST", "/api/v1/system/prompts/reset/"): {"prompt_type": "clustering"},
    ("POST", "/api/v1/system/prompts/"): {"prompt_type": "ideas", "prompt_value": "Propose articles..."},
    ("PUT", "/api/v1/system/prompts/{prompt_type}/"): {"prompt_value": "Propose articles..."},
    ("PATCH", "/api/v1/system/prompts/{prompt_type}/"): {"prompt_value": "Propose articles..."},
    ("POST", "/api/v1/system/author-profiles/"): {"name": "Friendly expert", "tone": "friendly, expert", "language": "en", "structure_template": {"sections": ["Introduction", "Key points", "FAQ", "Conclusion"]}},
    ("PUT", "/api/v1/system/author-profiles/{id}/"): {"name": "Friendly expert", "tone": "warm", "language": "en"},
    ("PATCH", "/api/v1/system/author-profiles/{id}/"): {"tone": "warm"},
    ("POST", "/api/v1/system/strategies/"): {"name": "Pillar and cluster", "prompt_types": ["clustering", "ideas"], "section_logic": {"pillar": "long guide", "supporting": "answers"}},
    ("PUT", "/api/v1/system/strategies/{id}/"): {"name": "Pillar and cluster", "is_active": False},
    ("PATCH", "/api/v1/system/strategies/{id}/"): {"is_active": False},
    ("POST", "/api/v1/system/settings/system/"): {"key": "announcement", "value": "Scheduled maintenance on Sunday"},
    ("POST", "/api/v1/system/settings/account/"): {"key": "default_word_count", "value": 1500},
    ("POST", "/api/v1/system/settings/user/"): {"key": "theme", "value": "dark"},
    ("POST", "/api/v1/system/settings/ai/"): {"key": "temperature", "value": 0.7},
    ("POST", "/api/v1/system/settings/modules/"): {"module_name": "planner", "key": "cluster_size", "value": 12},
    ("PUT", "/api/v1/system/settings/modules/enable/"): {"linker_enabled": False},
    ("PATCH", "/api/v1/system/settings/modules/enable/"): {"linker_enabled": True},
    ("PUT", "/api/v1/automation/update_config/"): {"site_id": "<site id>", "enabled": True, "schedule": {"frequency": "daily", "time": "06:30", "timezone": "Europe/Paris"}, "stages": {"content": {"enabled": True, "batch_size": 5}}, "credit_ceiling": 500},
    ("PATCH", "/api/v1/automation/update_config/"): {"site_id": "<site id>", "enabled": False},
    ("POST", "/api/v1/automation/run_now/"): {"site_id": "<site id>"},
    ("POST", "/api/v1/automation/pause/"): {"run_id": "<run id>"},
    ("POST", "/api/v1/automation/resume/"): {"run_id": "<run id>"},
    ("POST", "/api/v1/automation/cancel/"): {"run_id": "<run id>"},
    ("POST", "/api/v1/planner/keywords/"): {"keyword": "dental implants cost", "volume": 1200, "difficulty": 35, "intent": "commercial", "site_id": "<site id>", "sector_id": "<sector id>"},
    ("POST", "/api/v1/planner/keywords/bulk_add_from_seed/"): {"seed_keyword_ids": ["<seed keyword id>"], "site_id": "<site id>", "sector_id": "<sector id>"},
    ("POST", "/api/v1/planner/keywords/bulk_delete/"): {"ids": ["<keyword id>"]},
    ("POST", "/api/v1/planner/keywords/bulk_update_status/"): {"ids": ["<keyword id>"], "status": "archived"},
    ("POST", "/api/v1/planner/keywords/auto_cluster/"): {"ids": ["<keyword id>"], "sector_id": "<sector id>"},
    ("POST", "/api/v1/planner/clusters/"): {"name": "Dental implants", "description": "Costs and procedure", "site_id": "<site id>", "sector_id": "<sector id>"},
    ("POST", "/api/v1/planner/clusters/auto_generate_ideas/"): {"ids": ["<cluster id>"]},
    ("POST", "/api/v1/planner/ideas/"): {"idea_title": "What dental implants cost", "content_type": "guide", "content_structure": "pillar_page", "site_id": "<site id>", "sector_id": "<sector id>"},
    ("POST", "/api/v1/planner/ideas/bulk_queue_to_writer/"): {"ids": ["<idea id>"]},
    ("POST", "/api/v1/writer/tasks/"): {"title": "What dental implants cost", "keywords": "implant cost, implant price", "word_count": 1500, "site_id": "<site id>", "sector_id": "<sector id>"},
    ("POST", "/api/v1/writer/tasks/bulk_update/"): {"ids": ["<task id>"], "status": "review"},
    ("POST", "/api/v1/writer/tasks/auto_generate_content/"): {"ids": ["<task id>"]},
    ("POST", "/api/v1/writer/content/"): {"title": "Implant costs", "html_content": "<h2>Costs</h2><p>...</p>", "site_id": "<site id>", "sector_id": "<sector id>"},
    ("POST", "/api/v1/writer/content/generate_image_prompts/"): {"ids": ["<content id>"], "in_article_count": 2},
    ("POST", "/api/v1/writer/images/"): {"image_type": "featured", "prompt": "A bright dental clinic", "content_id": "<content id>", "site_id": "<site id>", "sector_id": "<sector id>"},
    ("POST", "/api/v1/writer/images/generate_images/"): {"content_id": "<content id>"},
    ("POST", "/api/v1/writer/images/auto_generate/"): {"ids": ["<task id>"]},
    ("POST", "/api/v1/writer/images/bulk_update/"): {"content_id": "<content id>", "status": "published"},
    ("POST", "/api/v1/writer/taxonomies/"): {"site_id": "<site id>", "taxonomy_type": "category", "name": "Dental implants"},
    ("POST", "/api/v1/billing/payments/"): {"invoice_id": "<invoice id>", "method": "bank_transfer", "reference": "INV-202611-ABCD1234"},
    ("POST", "/api/v1/billing/payment-methods/"): {"type": "bank_transfer", "label": "Company account", "last4": "1234"},
    ("POST", "/api/v1/admin/accounts/{id}/adjust_credits/"): {"amount": 500, "reason": "Goodwill for the outage on 2026-11-20"},
    ("POST", "/api/v1/admin/payments/{id}/reject/"): {"reason": "No transfer with this reference arrived"},
    ("POST", "/api/v1/system/settings/integrations/{pk}/generate/"): {"prompt": "A bright dental clinic", "image_type": "featured"},
}


class Loader(yaml.SafeLoader):
    pass


def _any_tag(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


Loader.add_multi_constructor("!", _any_tag)


def main() -> None:
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=Loader)
    out = ROOT / "events"
    for old in out.glob("*.json"):
        old.unlink()
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "Schedule":
                binary = resource["Metadata"]["BuildProperties"]["Binary"]
                doc = {
                    "version": "0", "id": "00000000-0000-0000-0000-000000000000", "detail-type": "Scheduled Event",
                    "source": "aws.events", "account": "000000000000", "time": "2026-12-01T00:15:00Z", "region": "us-east-1",
                    "resources": ["arn:aws:events:us-east-1:000000000000:rule/monthly-credits"], "detail": {},
                }
                (out / f"{binary}-schedule.json").write_text(json.dumps(doc, indent=2) + "\n")
                continue
            if event["Type"] != "HttpApi":
                continue
            path, method = event["Properties"]["Path"], event["Properties"]["Method"].upper()
            route_key = f"{method} {path}"
            greedy = "{proxy+}" in path
            def value(name):
                return PARAMS.get(name, f"<{name.replace('_', ' ')}>")
            raw = "/api/v1/unknown/" if greedy else re.sub(r"\{([a-z_]+)\}", lambda m: value(m.group(1)), path)
            params = {"proxy": "api/v1/unknown/"} if greedy else {p: value(p) for p in re.findall(r"\{([a-z_]+)\}", path)}
            http_method = "GET" if method == "ANY" else method
            headers = {"host": "localhost:8000", "user-agent": "curl/8.5.0", "accept": "*/*"}
            body = SAMPLES.get((method, path))
            if body is None and method in ("POST", "PUT", "PATCH"):
                body = {}
            if body is not None:
                headers["content-type"] = "application/json"
            if not greedy and not any(p in path for p in PUBLIC):
                headers["authorization"] = "Bearer <access token from auth-login>"
            doc = {
                "version": "2.0", "routeKey": route_key, "rawPath": raw, "rawQueryString": "", "headers": headers,
                "requestContext": {
                    "accountId": "000000000000", "apiId": "local", "domainName": "localhost:8000", "domainPrefix": "localhost",
                    "http": {"method": http_method, "path": raw, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "curl/8.5.0"},
                    "requestId": "event", "routeKey": route_key, "stage": "$default", "time": "22/Nov/2026:12:00:00 +0000", "timeEpoch": 1795377600000,
                },
                "isBase64Encoded": False,
            }
            if params:
                doc["pathParameters"] = params
            if body is not None:
                doc["body"] = json.dumps(body)
            slug = "fallback-any" if greedy else re.sub(r"[^a-z0-9]+", "-", path.replace("/api/v1/", "").lower()).strip("-") + f"-{method.lower()}"
            (out / f"{slug}.json").write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
