"""Administrative division codes (GB/T 2260) → the city that a 统一社会信用代码 belongs to (DESIGN §2).

Characters 3–8 of the code are the registering authority's division; its first four digits plus `00` give
the prefecture-level city. Guangxi's cities are listed by name (the seeds are Guangxi's); elsewhere the
province is named.
"""

from __future__ import annotations

PROVINCES = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区", "21": "辽宁省",
    "22": "吉林省", "23": "黑龙江省", "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省",
    "35": "福建省", "36": "江西省", "37": "山东省", "41": "河南省", "42": "湖北省", "43": "湖南省",
    "44": "广东省", "45": "广西壮族自治区", "46": "海南省", "50": "重庆市", "51": "四川省", "52": "贵州省",
    "53": "云南省", "54": "西藏自治区", "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区", "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
}

CITIES = {
    "450100": "南宁市", "450200": "柳州市", "450300": "桂林市", "450400": "梧州市", "450500": "北海市",
    "450600": "防城港市", "450700": "钦州市", "450800": "贵港市", "450900": "玉林市", "451000": "百色市",
    "451100": "贺州市", "451200": "河池市", "451300": "来宾市", "451400": "崇左市",
}


def city_code(division_code: str) -> str:
    """The prefecture-level code: `450202` (柳州市城中区) → `450200`; a province-level `450000` stays."""
    return division_code[:4] + "00" if len(division_code) == 6 else division_code


def city_name(division_code: str) -> str:
    """A readable place for the division code; never raises."""
    code = city_code(division_code)
    if code in CITIES:
        return CITIES[code]
    province = PROVINCES.get(division_code[:2])
    if province is None:
        return f"未知地区（{division_code}）"
    if code.endswith("0000"):
        return province + "（省级）"
    return f"{province}（{code}）"
