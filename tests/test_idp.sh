#!/bin/sh
# test_idp.sh: each conf/idp/ snippet, used unchanged, accepts a token in its provider's documented shape and refuses a wrong one.
# SPDX-License-Identifier: BSD-3-Clause
. "$(dirname "$0")/lib.sh"

need_root
make_scratch
IDP="$TOP_SRCDIR/conf/idp"

# One RSA key for all providers, published under each provider's kid (the shapes their JWKS use).
"$JWT_MINT" keygen RS256 "$SCRATCH/k.pem" || { echo "Bail out! cannot make a key"; exit 1; }
"$JWT_MINT" keygen RS256 "$SCRATCH/other.pem" || { echo "Bail out! cannot make a key"; exit 1; }
KIDS="FJ86GcF3jTbNLOco4NvZkUCIUmfYCqoqtOQeMfbhNlE -KI3Q9nNR7bRofxmeZoXqbHZGew
 DjBw6l5lNEOPo8Vj4w9lqLJJ0QNzgEhtYYO3Zyl0a48 NkJCQzIyQzRBMEU4NjhGNUU4MzU4RkY0M0ZDQzkwOUQ0Q0VGNUMwQg
 a50f6e70ef4b548a5fd9142eecd1fb8f54dce9ee kewiQq9jiC84CvSsJYOB-N6A8WFLSV20Mb-y7IlWDSQ
 38826b17-6a30-5f9b-b169-8beb8202f723 3b5b2a4f0f0a4e1c8d1a6c2b9e7f5d3c 4b7f3a2c9d1e8f6a5b4c3d2e1f0a9b8c"
specs=""
for kid in $KIDS; do specs="$specs $SCRATCH/k.pem:$kid"; done
# shellcheck disable=SC2086
"$JWT_MINT" jwks $specs >"$SCRATCH/jwks.json" && chmod 644 "$SCRATCH/jwks.json" ||
	{ echo "Bail out! cannot write the JWKS"; exit 1; }

# conf FILE: the snippet exactly as shipped, after a [global] that supplies the keys (every issuer key
# may stand in [global] as a default), so no byte of the snippet is changed.
conf() {
	{
		printf '# test_idp.sh: [global] for the test, then conf/idp/%s unchanged\n' "$1"
		printf '[global]\njwks_file = %s/jwks.json\ncache_dir = %s\nstate_dir = %s\n' "$SCRATCH" "$SCRATCH" "$SCRATCH"
		cat "$IDP/$1"
	} >"$SCRATCH/$1"
	chmod 644 "$SCRATCH/$1"
	echo "$SCRATCH/$1"
}

# verify FILE USER SERVICE HEADER PAYLOAD [KEY]: pam-jwt verify's output; its exit status in $vrc.
verify() {
	c=$(conf "$1")
	tok=$("$JWT_MINT" sign RS256 "${6:-$SCRATCH/k.pem}" - "$5" "$4") || { vrc=99; return; }
	if [ -n "$3" ]; then
		out=$(printf '%s' "$tok" | "$PAM_JWT" verify --config "$c" --user "$2" --service "$3" 2>&1)
	else
		out=$(printf '%s' "$tok" | "$PAM_JWT" verify --config "$c" --user "$2" 2>&1)
	fi
	vrc=$?
}

# accept FILE USER SERVICE HEADER PAYLOAD DESC [GROUP]: accepted, with the user (and group) expected.
accept() {
	verify "$1" "$2" "$3" "$4" "$5"
	[ "$vrc" -eq 0 ] && echo "$out" | grep -q "^username: $2\$" &&
		{ [ -z "${7:-}" ] || echo "$out" | grep -q "^groups: .*$7"; }
	ok $? "$1: $6"
	[ "$vrc" -eq 0 ] || echo "$out" | sed 's/^/# /'
}

# refuse FILE USER SERVICE HEADER PAYLOAD REASON DESC [KEY]: refused (exit 1) with REASON in the output.
refuse() {
	verify "$1" "$2" "$3" "$4" "$5" "${8:-}"
	[ "$vrc" -eq 1 ] && echo "$out" | grep -q "$6"
	ok $? "$1: $7 ($(echo "$out" | head -1))"
}

NOW=@now
EXP=@now+300

# ---- Keycloak: a realm access token with an Audience mapper ----
H='{"alg":"RS256","typ":"JWT","kid":"FJ86GcF3jTbNLOco4NvZkUCIUmfYCqoqtOQeMfbhNlE"}'
kc() { # REALM AUD ACR
	echo '{"exp":'$EXP',"iat":'$NOW',"auth_time":@now-30,"jti":"5f1c8a2e-3b4d-4e6f-8a9b-0c1d2e3f4a5b",
"iss":"https://keycloak.example.com/realms/'"$1"'","aud":'"$2"',"sub":"f0e1d2c3-b4a5-4687-9a8b-7c6d5e4f3a2b",
"typ":"Bearer","azp":"pam-hosts","session_state":"9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d","acr":"'"$3"'",
"realm_access":{"roles":["default-roles-corp","offline_access","uma_authorization","admins","devs"]},
"resource_access":{"account":{"roles":["manage-account","view-profile"]}},"scope":"openid profile email",
"sid":"9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d","email_verified":true,"name":"Alice Liddell",
"preferred_username":"alice","given_name":"Alice","family_name":"Liddell","email":"alice@example.com"}'
}
accept keycloak.conf alice sudo "$H" "$(kc corp '["pam-hosts","account"]' 2)" \
	"an access token with acr 2 and the admins role passes [service sudo]" admins
refuse keycloak.conf alice "" "$H" "$(kc other '["pam-hosts","account"]' 2)" "iss is not a configured issuer" \
	"a token of another realm is refused"
refuse keycloak.conf alice "" "$H" "$(kc corp '"account"' 2)" "aud does not name" \
	"a token without the Audience mapper (aud account) is refused"
refuse keycloak.conf alice sudo "$H" "$(kc corp '"pam-hosts"' 1)" "claim acr" \
	"sudo without the second factor (acr 1) is refused"

# ---- Entra ID: a v2.0 access token for the app's own scope, app roles ----
TID=72f988bf-86f1-41af-91ab-2d7cd011db47
APP=6e74172b-be56-4843-9ff4-e66a39bb12e3
H='{"typ":"JWT","alg":"RS256","kid":"-KI3Q9nNR7bRofxmeZoXqbHZGew","x5t":"-KI3Q9nNR7bRofxmeZoXqbHZGew"}'
entra() { # TENANT AUD EXTRA
	echo '{"aud":"'"$2"'","iss":"https://login.microsoftonline.com/'"$1"'/v2.0","iat":'$NOW',"nbf":'$NOW',
"exp":'$EXP',"aio":"AWQAm/8TAAAA","azp":"04b07795-8ddb-461a-bbee-02f9e1bf7b46","azpacr":"0",
"name":"Alice Liddell","oid":"690222be-ff1a-4d56-abd1-7e4f7d38e474","preferred_username":"Alice@contoso.com",
"rh":"0.AAAA","scp":"login","sub":"MF4f-ggWMEji12KynJUNQZphaUTvLcQug5jdF2nl01Q","tid":"'"$1"'",
"uti":"fqiBqXLPj0eQa82S-IYFAA","ver":"2.0"'"$3"'}'
}
accept entra-id.conf alice sudo "$H" "$(entra $TID $APP ',"roles":["linux-admins"]')" \
	"preferred_username Alice@contoso.com is alice; the app role linux-admins passes [service sudo]" linux-admins
refuse entra-id.conf alice "" "$H" "$(entra 9188040d-6c67-4c5b-b112-36a304b66dad $APP '')" \
	"iss is not a configured issuer" "a token of another tenant is refused"
refuse entra-id.conf alice "" \
	'{"typ":"JWT","nonce":"wcg2mCQ6xx3mVlVp9OzuGmZCkfSvNaoZ4gmBGqWgm3A","alg":"RS256","kid":"-KI3Q9nNR7bRofxmeZoXqbHZGew"}' \
	"$(entra $TID https://graph.microsoft.com '')" "aud does not name" \
	"a Microsoft Graph access token (header nonce) is refused"
accept entra-id.conf alice "" "$H" \
	"$(entra $TID $APP ',"roles":["linux-admins"],"_claim_names":{"groups":"src1"},"_claim_sources":{"src1":{"endpoint":"https://graph.microsoft.com/v1.0/users/690222be/getMemberObjects"}}')" \
	"a user in too many groups (overage markers) still gets the app roles" linux-admins

# ---- Okta: a custom authorization server's access token ----
H='{"kid":"DjBw6l5lNEOPo8Vj4w9lqLJJ0QNzgEhtYYO3Zyl0a48","alg":"RS256"}'
okta() { # ISS AUD
	echo '{"ver":1,"jti":"AT.0mP4JKAZX1iACIT4vbEDF7LpvDVjxypPMf0D7uX39RE","iss":"'"$1"'","aud":"'"$2"'",
"iat":'$NOW',"exp":'$EXP',"cid":"0oa1hz9bqpZ3Mb8Xa5d7","uid":"00u1hz8h8yUAD1Cvx5d7",
"scp":["openid","profile"],"auth_time":@now-60,"sub":"Alice@example.com","groups":["linux-admins","Everyone"]}'
}
accept okta.conf alice sudo "$H" "$(okta https://example.okta.com/oauth2/default api://pam-hosts)" \
	"sub Alice@example.com is alice; the group linux-admins passes [service sudo]" linux-admins
refuse okta.conf alice "" "$H" "$(okta https://example.okta.com api://pam-hosts)" "iss is not a configured issuer" \
	"a token of the org authorization server is refused"
refuse okta.conf alice "" "$H" "$(okta https://example.okta.com/oauth2/default api://default)" "aud does not name" \
	"a token for the default audience is refused"

# ---- Auth0: an API access token with namespaced custom claims ----
H='{"alg":"RS256","typ":"JWT","kid":"NkJCQzIyQzRBMEU4NjhGNUU4MzU4RkY0M0ZDQzkwOUQ0Q0VGNUMwQg"}'
auth0() { # ISS AUD
	echo '{"https://example.com/username":"Alice","https://example.com/groups":["admins","devs"],"iss":"'"$1"'",
"sub":"auth0|65f0c1d2e3f4a5b6c7d8e9f0","aud":'"$2"',"iat":'$NOW',"exp":'$EXP',"azp":"xJ8kU2bV9cW3dX4eY5fZ6gA7hB8iC9jD",
"scope":"openid profile"}'
}
accept auth0.conf alice "" "$H" \
	"$(auth0 https://example.eu.auth0.com/ '["https://pam-hosts.example.com","https://example.eu.auth0.com/userinfo"]')" \
	"namespaced username and groups claims, aud an array with userinfo" admins
refuse auth0.conf alice "" "$H" "$(auth0 https://example.eu.auth0.com '"https://pam-hosts.example.com"')" \
	"iss is not a configured issuer" "iss without the trailing slash is refused"
refuse auth0.conf alice "" "$H" "$(auth0 https://example.eu.auth0.com/ '"https://example.eu.auth0.com/userinfo"')" \
	"aud does not name" "a token requested without the API audience is refused"

# ---- Google: a Workspace ID token ----
H='{"alg":"RS256","kid":"a50f6e70ef4b548a5fd9142eecd1fb8f54dce9ee","typ":"JWT"}'
CLIENT=1234567890-abcdefghijklmnop.apps.googleusercontent.com
google() { # AUD EMAIL HD_MEMBER
	echo '{"iss":"https://accounts.google.com","azp":"'"$1"'","aud":"'"$1"'","sub":"110169484474386276334",
'"$3"'"email":"'"$2"'","email_verified":true,"at_hash":"HK6E_P6Dh8Y93mRNtsDB1Q","name":"Alice Liddell",
"picture":"https://lh3.googleusercontent.com/a/x","given_name":"Alice","family_name":"Liddell","iat":'$NOW',"exp":'$EXP'}'
}
accept google.conf alice sshd "$H" "$(google $CLIENT alice@example.com '"hd":"example.com",')" \
	"email + strip_domain; hd and email_verified pass [service sshd]"
refuse google.conf alice sshd "$H" "$(google $CLIENT alice@example.com '')" "claim hd" \
	"an account of the domain's address without hd (not Workspace-managed) is refused"
refuse google.conf alice "" "$H" "$(google 32555940559.apps.googleusercontent.com alice@example.com '"hd":"example.com",')" \
	"aud does not name" "a token for another client (gcloud's) is refused"
refuse google.conf alice "" "$H" "$(google $CLIENT alice@evil.example '"hd":"evil.example",')" "username_domains" \
	"another Workspace domain is refused"

# ---- GitLab: an ID token of GitLab's OIDC provider ----
H='{"kid":"kewiQq9jiC84CvSsJYOB-N6A8WFLSV20Mb-y7IlWDSQ","typ":"JWT","alg":"RS256"}'
APPID=3f6b0c9e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c
gitlab() { # AUD
	echo '{"iss":"https://gitlab.example.com","sub":"1234","aud":"'"$1"'","exp":'$EXP',"iat":'$NOW',
"auth_time":@now-100,"sub_legacy":"2ee3c3d8b8e1e8a7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3",
"name":"Alice Liddell","nickname":"Alice","preferred_username":"Alice","email":"alice@example.com",
"email_verified":true,"website":"","profile":"https://gitlab.example.com/Alice",
"picture":"https://gitlab.example.com/uploads/-/system/user/avatar/1234/avatar.png",
"groups_direct":["infra","infra/oncall","devs"]}'
}
accept gitlab.conf alice "" "$H" "$(gitlab $APPID)" "preferred_username Alice is alice; groups_direct" infra
refuse gitlab.conf alice "" "$H" "$(gitlab 0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f)" \
	"aud does not name" "an ID token of another application is refused"

# ---- GitHub Actions: a job's OIDC token ----
H='{"typ":"JWT","alg":"RS256","x5t":"ykNaY4qM_ta4k2TgZOCEYLkcYlA","kid":"38826b17-6a30-5f9b-b169-8beb8202f723"}'
gha() { # OWNER REPO REF WORKFLOW_REF AUD [SUB]
	sub=${6:-repo:$1/$2:ref:$3}
	echo '{"jti":"example-id","sub":"'"$sub"'","aud":"'"$5"'","ref":"'"$3"'",
"sha":"example-sha","repository":"'"$1/$2"'","repository_owner":"'"$1"'","repository_owner_id":"65",
"run_id":"example-run-id","run_number":"10","run_attempt":"2","repository_visibility":"private",
"repository_id":"74","actor_id":"12","actor":"octocat","workflow":"deploy","head_ref":"","base_ref":"",
"event_name":"push","ref_protected":"true","ref_type":"branch",
"workflow_ref":"'"$1/$2"'/.github/workflows/deploy.yml@'"$3"'","workflow_sha":"example-sha",
"job_workflow_ref":"'"$4"'","job_workflow_sha":"example-sha","runner_environment":"github-hosted",
"iss":"https://token.actions.githubusercontent.com","nbf":@now-5,"exp":'$EXP',"iat":'$NOW'}'
}
WF=example-org/deploy/.github/workflows/deploy.yml@refs/heads/main
accept github-actions.conf example-org sshd "$H" \
	"$(gha example-org deploy refs/heads/main $WF deploy.example.com)" \
	"main of example-org/deploy through its deploy workflow passes [service sshd] as user example-org"
refuse github-actions.conf example-org sshd "$H" \
	"$(gha example-org deploy refs/heads/feature $WF deploy.example.com)" "claim sub" \
	"another branch is refused"
refuse github-actions.conf example-org sshd "$H" \
	"$(gha example-org deploy refs/pull/7/merge $WF deploy.example.com repo:example-org/deploy:pull_request)" \
	"claim sub" "a pull_request token is refused"
refuse github-actions.conf example-org sshd "$H" \
	"$(gha example-org deploy refs/heads/main example-org/deploy/.github/workflows/other.yml@refs/heads/main deploy.example.com)" \
	"claim job_workflow_ref" "another workflow of the same repository and branch is refused"
refuse github-actions.conf example-org "" "$H" \
	"$(gha example-org deploy refs/heads/main $WF https://github.com/example-org)" "aud does not name" \
	"a token with the default audience is refused"

# ---- Dex: an ID token with groups from an LDAP connector ----
H='{"alg":"RS256","kid":"3b5b2a4f0f0a4e1c8d1a6c2b9e7f5d3c"}'
dex() { # AUD
	echo '{"iss":"https://dex.example.com","sub":"CgVhbGljZRIEbGRhcA","aud":"'"$1"'","exp":'$EXP',"iat":'$NOW',
"at_hash":"3sKd0f2Bq7wJbH1gYw5Mxw","c_hash":"6q1Yb4bWq1u8n9x2k3l4Mw","email":"alice@example.com","email_verified":true,
"groups":["devs","admins"],"name":"Alice Liddell","preferred_username":"alice",
"federated_claims":{"connector_id":"ldap","user_id":"alice"}}'
}
accept dex.conf alice "" "$H" "$(dex pam-hosts)" "preferred_username and groups from the connector" admins
refuse dex.conf alice "" "$H" "$(dex kubernetes)" "aud does not name" "an ID token of another static client is refused"

# ---- authentik: an ID token of an OAuth2/OpenID provider with a signing key ----
H='{"alg":"RS256","kid":"4b7f3a2c9d1e8f6a5b4c3d2e1f0a9b8c","typ":"JWT"}'
ak() { # ISS
	echo '{"iss":"'"$1"'","sub":"8e4b5a3c2d1f0e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a","aud":"Rk8xZjQ3YzU2ZGQ4NDE3ZmE3MzE2",
"exp":'$EXP',"iat":'$NOW',"auth_time":@now-20,"acr":"goauthentik.io/providers/oauth2/default",
"amr":["pwd","mfa"],"sid":"1f2e3d4c5b6a","email":"alice@example.com","email_verified":true,"name":"Alice Liddell",
"given_name":"Alice Liddell","preferred_username":"alice","nickname":"alice",
"groups":["devs","authentik Admins","admins"]}'
}
accept authentik.conf alice "" "$H" "$(ak https://authentik.example.com/application/o/linux-hosts/)" \
	"per-provider issuer with the trailing slash; a group name with a space is no obstacle" admins
refuse authentik.conf alice "" "$H" "$(ak https://authentik.example.com/application/o/other-app/)" \
	"iss is not a configured issuer" "a token of another application's provider is refused"

# ---- every snippet: linked from conf/README.md, with a purpose line and a token tested above ----
for f in "$IDP"/*.conf; do
	name=$(basename "$f")
	grep -q "idp/$name" "$TOP_SRCDIR/conf/README.md"
	ok $? "conf/README.md links idp/$name"
	grep -q "^# $name: " "$f"
	ok $? "$name opens with a line saying what it is for"
	grep -q "^accept $name " "$0"
	ok $? "$name has an accepted token here"
done

# A token signed by a key the provider never published is refused whatever its shape.
refuse dex.conf alice "" '{"alg":"RS256","kid":"3b5b2a4f0f0a4e1c8d1a6c2b9e7f5d3c"}' "$(dex pam-hosts)" "signature" \
	"a token signed by another key is refused" "$SCRATCH/other.pem"

done_testing
