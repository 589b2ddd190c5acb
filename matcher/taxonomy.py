"""The sector taxonomy of Xiangtan High-tech Zone's industry chains, with labels and synonyms.

Free-text sectors are mapped to a code when a known label or synonym occurs in them; unknown labels
stay usable as tokens by the features (see ``matcher.features``), so other markets still work.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sector:
    code: str
    zh: str
    en: str
    synonyms: tuple[str, ...]
    sub_sectors: tuple[str, ...]


SECTORS: tuple[Sector, ...] = (
    Sector("new_energy", "新能源装备", "New-energy equipment",
           ("新能源", "风电", "风力发电", "光伏", "储能", "氢能", "wind", "solar", "energy", "cleantech"),
           ("风电整机", "风电叶片", "储能系统", "光伏组件", "氢燃料电池")),
    Sector("electric_drive", "先进电驱动", "Advanced electric drives",
           ("电驱动", "电机", "电传动", "变频", "电气", "motor", "drive", "electric vehicle", "ev"),
           ("永磁电机", "牵引变流器", "伺服驱动", "电控系统")),
    Sector("new_materials", "新材料", "New materials",
           ("新材料", "材料", "钢", "合金", "复合材料", "石墨烯", "materials", "steel", "chemical"),
           ("高品质钢材", "碳纤维复合材料", "特种合金", "石墨烯材料")),
    Sector("electronics_it", "电子信息", "Electronics and next-generation IT",
           ("电子信息", "电子", "信息技术", "通信", "芯片", "半导体", "软件", "物联网", "electronics",
            "semiconductor", "telecom", "software", "saas", "it", "technology", "iot"),
           ("5G通信模组", "功率半导体", "工业软件", "物联网终端")),
    Sector("robotics", "智能机器人", "Intelligent robots",
           ("机器人", "智能装备", "自动化", "智能制造", "robot", "automation", "drone"),
           ("工业机器人", "服务机器人", "协作机器人", "巡检机器人")),
    Sector("additive_medical", "3D打印与精准医疗", "3D printing and precision medicine",
           ("3d打印", "增材制造", "精准医疗", "医疗器械", "3d printing", "additive", "medtech", "medical device"),
           ("金属增材制造", "个性化植入物", "手术导板", "医疗器械")),
    Sector("carbon_sensors", "碳基传感器", "Carbon-based sensors",
           ("传感器", "碳基", "碳纳米管", "sensor", "sensing"),
           ("碳基芯片", "气体传感器", "柔性传感器", "生物传感器")),
    Sector("big_data", "大数据", "Big data",
           ("大数据", "数据", "云计算", "人工智能", "ai", "big data", "analytics", "data", "cloud", "fintech"),
           ("数据治理", "工业互联网平台", "人工智能算法", "金融科技")),
    Sector("biomedicine", "生物医药", "Biomedicine",
           ("生物医药", "医药", "生物", "制药", "疫苗", "biotech", "pharma", "healthcare", "health", "biomedical"),
           ("创新药", "生物制剂", "中药现代化", "体外诊断")),
)

SECTOR_BY_CODE: dict[str, Sector] = {s.code: s for s in SECTORS}


@functools.lru_cache(maxsize=65536)
def sector_code(label: str | None) -> str | None:
    """Map a free-text sector label to a taxonomy code, or None when it names no known sector.

    Exact codes and Chinese/English names win; otherwise the longest synonym found in the label.
    Cached: features are rebuilt at several dates over the same labels.
    """
    if not label:
        return None
    text = label.strip().lower()
    for s in SECTORS:
        if text in (s.code, s.zh.lower(), s.en.lower()):
            return s.code
    best: tuple[int, str] | None = None
    for s in SECTORS:
        for syn in s.synonyms:
            if _contains_term(text, syn) and (best is None or len(syn) > best[0]):
                best = (len(syn), s.code)
    return best[1] if best else None


def _contains_term(text: str, term: str) -> bool:
    # ASCII synonyms must match whole words ("it" must not match "digital"); CJK ones are substrings.
    if term.isascii():
        words = "".join(c if c.isalnum() else " " for c in text).split()
        term_words = term.split()
        n = len(term_words)
        return any(words[i : i + n] == term_words for i in range(len(words) - n + 1))
    return term in text


def sector_label(code: str | None, lang: str = "zh") -> str:
    """Human label of a sector code; unknown codes are returned as they are."""
    if code is None:
        return ""
    s = SECTOR_BY_CODE.get(code)
    if s is None:
        return code
    return s.zh if lang == "zh" else s.en
